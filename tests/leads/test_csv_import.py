"""CSV import: API upload, command, encodings, delimiters, aliases, dry run, refused rows."""
import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django_tenants.utils import schema_context

from leads.models import ImportBatch, ImportRowError, Lead
from leads.services.csv_import import detect_encoding, iter_csv_rows

pytestmark = pytest.mark.usefixtures("fresh_throttles")
URL = "/api/v1/leads/import"


def digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


def upload(api, content: bytes, name="leads.csv", query="", **data):
    return api.client.post(URL + query, {"file": SimpleUploadedFile(name, content, "text/csv"), **data},
                           **api.headers)


def test_bom_semicolons_and_aliases(api_a):
    text = ("E-mail;First Name;Surname;Company Name;Phone Number;Job Title;LinkedIn Profile;Shoe Size\n"
            "ana@acme.com;Ana;García;Acme;+34 600 000 000;CEO;https://linkedin.com/in/ana;38\n"
            "bad-email;Bo;B;;;;;\n")
    response = upload(api_a, "\ufeff".encode() + text.encode("utf-8"), source="fair")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["total_rows"], body["created_count"], body["invalid_count"]) == (2, 1, 1)
    with schema_context("tenant_a"):
        stored = Lead.objects.get(batch_id=body["id"])
    # Contact fields may be normalized inline (E.164 phone, canonical URL); the mapping is what counts here.
    assert (stored.email, stored.first_name, stored.last_name, stored.company, stored.title) == (
        "ana@acme.com", "Ana", "García", "Acme", "CEO")
    assert digits(stored.phone).endswith("34600000000")
    assert "linkedin.com/in/ana" in stored.linkedin_url
    assert stored.custom_fields == {"Shoe Size": "38"}
    assert stored.source == "fair"
    assert stored.raw["E-mail"] == "ana@acme.com"  # headers as they were in the file


@pytest.mark.parametrize("encoding, delimiter", [("utf-16", "\t"), ("latin-1", ","), ("utf-8", "\t"),
                                                 ("utf-16-le", ";")])
def test_encodings_and_delimiters_are_detected(api_a, encoding, delimiter):
    rows = [["Email Address", "Full Name", "Company"], ["zoe@müller.de", "Zoë Müller", "Müller GmbH, Köln"]]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    content = buffer.getvalue().encode(encoding)
    response = upload(api_a, content)
    assert response.status_code == 201, response.content
    with schema_context("tenant_a"):
        stored = Lead.objects.get(batch_id=response.json()["id"])
    assert (stored.full_name, stored.company) == ("Zoë Müller", "Müller GmbH, Köln")


def test_detect_encoding():
    assert detect_encoding(b"\xef\xbb\xbfemail\n") == "utf-8-sig"
    assert detect_encoding("email\n".encode("utf-16")) == "utf-16"
    assert detect_encoding("caf\xe9\n".encode("latin-1")) == "latin-1"
    assert detect_encoding("café\n".encode("utf-8")) == "utf-8"


def test_dry_run_counts_and_reasons_but_writes_nothing(api_a):
    with schema_context("tenant_a"):
        before = (Lead.objects.count(), ImportBatch.objects.count(), ImportRowError.objects.count())
    content = b"email,company\na@x.com,X\nnot-an-email,Y\n,\n"
    response = upload(api_a, content, query="?dry_run=1")
    assert response.status_code == 200
    body = response.json()
    assert (body["dry_run"], body["total_rows"], body["created"], body["invalid"]) == (True, 3, 1, 2)
    assert body["errors"][0] == {"row": 3, "errors": {"email": ["Enter a valid email address."]}}
    with schema_context("tenant_a"):
        assert (Lead.objects.count(), ImportBatch.objects.count(), ImportRowError.objects.count()) == before


def test_refused_rows_download_as_csv_with_an_error_column(api_a):
    content = b"Email,Company,Notes\nok@x.com,X,fine\nbroken,Y,typo\n,,empty\n"
    batch_id = upload(api_a, content).json()["id"]
    progress = api_a.get(f"/api/v1/imports/{batch_id}").json()
    assert (progress["status"], progress["processed_rows"], progress["invalid_count"]) == ("done", 3, 2)
    response = api_a.get(f"/api/v1/imports/{batch_id}/errors.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["row", "Email", "Company", "Notes", "error"]
    assert rows[1][:4] == ["3", "broken", "Y", "typo"] and "email" in rows[1][4]
    assert rows[2][0] == "4" and "needs an email" in rows[2][4]


def test_reimporting_a_file_with_ids_updates_instead_of_duplicating(api_a):
    content = b"ID,Email,Company\n7,a7@x.com,X\n8,a8@x.com,Y\n"
    upload(api_a, content, source="crm-export")
    second = upload(api_a, content, source="crm-export").json()
    assert (second["created_count"], second["updated_count"]) == (0, 2)
    with schema_context("tenant_a"):
        assert Lead.objects.filter(source="crm-export").count() == 2


def test_rows_wider_than_the_header_are_refused(api_a):
    body = upload(api_a, b"email,company\na@x.com,X,surprise\nb@x.com,Y\n").json()
    assert (body["created_count"], body["invalid_count"]) == (1, 1)


def test_missing_or_empty_file_is_a_400(api_a):
    assert api_a.client.post(URL, {}).json()["errors"]["file"]
    response = upload(api_a, b"")
    assert response.status_code == 400 and "empty" in response.json()["errors"]["file"][0]


def test_csv_quota_is_enforced(api_a, tenant_a):
    from tenants.models import Tenant

    with schema_context("tenant_a"):
        room = Lead.objects.count() + 1
    with schema_context("public"):
        Tenant.objects.filter(pk=tenant_a.pk).update(lead_quota=room)
    try:
        response = upload(api_a, b"email\nq1@x.com\nq2@x.com\nq3@x.com\n")
    finally:
        with schema_context("public"):
            Tenant.objects.filter(pk=tenant_a.pk).update(lead_quota=tenant_a.lead_quota)
    assert response.status_code == 403
    body = response.json()
    assert body["refused"] == 2 and str(room) in body["detail"]
    assert body["batch"]["created_count"] == 1


def test_rows_are_read_lazily():
    """The reader pulls the file a piece at a time: memory does not grow with the file."""
    line = b"someone@example.com,Some Company Name,Some Title,Some City\n"
    content = b"email,company,title,city\n" + line * 100_000
    source = io.BytesIO(content)
    _headers, rows = iter_csv_rows(source)
    next(rows)
    assert source.tell() < len(content) / 10


def test_command_imports_in_chunks_with_a_progress_bar(tmp_path, tenant_a):
    path = tmp_path / "big.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Email", "Company"])
        for i in range(230):
            writer.writerow([f"c{i}@chunk.test", f"Chunk {i}"])
        writer.writerow(["broken", ""])
    out, err = io.StringIO(), io.StringIO()
    call_command("import_leads", str(path), tenant="tenant_a", source="cmd", chunk_size=50, stdout=out, stderr=err)
    assert "231 rows: 230 were created" in out.getvalue()
    assert "import" in err.getvalue() and "100%" in err.getvalue()
    with schema_context("tenant_a"):
        batch = ImportBatch.objects.filter(source="cmd").latest("id")
        assert (batch.kind, batch.processed_rows, batch.created_count, batch.invalid_count) == ("command", 231, 230, 1)
        assert Lead.objects.filter(source="cmd").count() == 230


def test_command_dry_run_writes_nothing(tmp_path, tenant_a):
    path = tmp_path / "dry.csv"
    path.write_text("email;company\ndry1@x.com;A\nnope;B\n", encoding="utf-8")
    out = io.StringIO()
    call_command("import_leads", str(path), tenant="tenant_a", dry_run=True, no_progress=True, stdout=out)
    assert "2 rows: 1 would be created" in out.getvalue()
    assert "row 3: email" in out.getvalue()
    with schema_context("tenant_a"):
        assert not Lead.objects.filter(email="dry1@x.com").exists()


def test_command_fails_with_a_reason(tmp_path, tenant_a):
    with pytest.raises(CommandError, match="unknown tenant"):
        call_command("import_leads", str(tmp_path / "x.csv"), tenant="nope")
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_leads", str(tmp_path / "x.csv"), tenant="tenant_a")


def test_duplicates_across_chunks_are_found(tenant_a):
    """Chunks are written by a second thread while the next is prepared: a row still
    sees the rows of every earlier chunk."""
    from leads.services.csv_import import import_csv

    lines = ["email,phone,company"] + [f"across{i}@chunk.test,,Across {i}" for i in range(30)]
    lines += [f"ACROSS{i}@chunk.test,,Across {i}" for i in range(30)]  # the same people again
    with schema_context("tenant_a"):
        report = import_csv(binary=io.BytesIO("\n".join(lines).encode()), source="across", actor="test",
                            chunk_rows=7)
        assert report.counts == {"created": 30, "updated": 0, "duplicate": 30, "invalid": 0}
        batch = ImportBatch.objects.get(pk=report.batch.pk)
        assert (batch.status, batch.processed_rows, batch.duplicate_count) == ("done", 60, 30)
        first = Lead.objects.get(email="across3@chunk.test", status="normalized")
        assert Lead.objects.get(email="across3@chunk.test", status="duplicate").duplicate_of_id == first.pk


def test_a_chunk_that_fails_marks_the_import_failed_and_keeps_earlier_chunks(tenant_a, monkeypatch):
    from leads.services import csv_import

    calls = []

    def store_rows(prepared, **kwargs):
        calls.append(prepared.first_index)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real_store_rows(prepared, **kwargs)

    real_store_rows = csv_import.store_rows
    monkeypatch.setattr(csv_import, "store_rows", store_rows)
    lines = ["email"] + [f"fail{i}@chunk.test" for i in range(50)]
    with schema_context("tenant_a"):
        with pytest.raises(RuntimeError, match="disk full"):
            csv_import.import_csv(binary=io.BytesIO("\n".join(lines).encode()), source="failing", actor="test",
                                  chunk_rows=10)
        batch = ImportBatch.objects.filter(source="failing").latest("id")
        assert (batch.status, batch.processed_rows, batch.created_count) == ("failed", 20, 20)
        assert "disk full" in batch.error_message
        assert Lead.objects.filter(source="failing").count() == 20


def test_an_import_leaves_no_cyclic_garbage_per_row(tenant_a):
    """The import runs with the cyclic garbage collector paused: it must free every
    row by reference counting, or memory would grow with the file."""
    import gc

    from leads.services.csv_import import import_csv

    def garbage_after(rows: int, tag: str) -> int:
        content = "email,company\n" + "".join(f"gc{tag}{i}@cycles.test,Cycles {i}\n" for i in range(rows))
        gc.collect()
        gc.disable()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            import_csv(binary=io.BytesIO(content.encode()), source=f"gc-{tag}", actor="test", chunk_rows=50)
            gc.collect()
            return len(gc.garbage)
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()

    with schema_context("tenant_a"):
        garbage_after(20, "warm")  # first use builds module-level state
        assert garbage_after(400, "large") <= garbage_after(100, "small")
        assert gc.isenabled()


def test_deleting_an_import_keeps_its_leads_without_a_batch(api_a):
    response = upload(api_a, b"email\nkeep@acme.com\n", source="fair")
    assert response.status_code == 201, response.content
    batch_id = response.json()["id"]
    with schema_context("tenant_a"):
        ImportBatch.objects.get(pk=batch_id).delete()
        lead = Lead.objects.get(email="keep@acme.com")
        assert (lead.batch_id, lead.source) == (None, "fair")
        assert not ImportRowError.objects.filter(batch_id=batch_id).exists()

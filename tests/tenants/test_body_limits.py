def test_json_body_over_limit_gets_413(client_a, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = client_a.post("/healthz", data="x" * 2048, content_type="application/json")
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]


def test_upload_over_limit_gets_413(client_a, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MAX_UPLOAD_SIZE = 1024
    response = client_a.post("/healthz", {"file": SimpleUploadedFile("a.csv", b"e" * 4096)})
    assert response.status_code == 413


def test_body_under_limit_passes(client_a):
    assert client_a.get("/healthz").status_code == 200

"""The review pages: sign in, the queue, a lead, analytics.

Views parse input, call a selector or a service, and render. Every page needs a signed-in
user of the current tenant (sessions live in the tenant's schema, so a session cookie from
another tenant's host finds no session here); writes need the reviewer role.
"""
import csv
import importlib
from functools import wraps

from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leadhub.clients import client_ip
from leads import selectors
from leads.forms import BulkReviewForm, DateRangeForm, LeadContactForm, QueueFilterForm, ReviewForm, SignInForm
from leads.models import Lead, LeadStatus
from leads.models.lead import CONTACT_FIELDS
from leads.permissions import has_role
from leads.services.audit import actor_label
from leads.services.edit import lead_update_contact
from leads.services.review import ReviewConflict, lead_review, leads_review_bulk

QUEUE_PAGE_SIZE = 50
SIGNIN_MAX_FAILURES = 5         # per email and client address
SIGNIN_MAX_FAILURES_PER_IP = 30  # whatever the email
SIGNIN_WINDOW_S = 15 * 60
SIGNIN_FAILED = "The email or password is not correct."
SIGNIN_THROTTLED = "Too many sign-in attempts. Wait 15 minutes and try again."


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def tenant_page(minimum: str = "viewer"):
    """Requires a signed-in user of this tenant with at least the ``minimum`` role."""
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                if _is_htmx(request):
                    response = HttpResponse(status=401)
                    response["HX-Redirect"] = reverse("signin")
                    return response
                return redirect_to_login(request.get_full_path(), reverse("signin"))
            if not has_role(request.user, minimum):
                raise PermissionDenied
            return view(request, *args, **kwargs)
        return wrapped
    return decorator


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


# --- Sign in / out -------------------------------------------------------------

@require_http_methods(["GET", "POST"])
def sign_in(request):
    if request.user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request, reverse("queue")))
    form = SignInForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].strip().lower()
        # Counted per tenant (cache keys carry the schema); the same counters whether or not
        # the account exists, so the answers reveal nothing about which emails are users.
        address = client_ip(request)
        keys = (f"signin-fail:{address}:{email}", f"signin-fail-ip:{address}")
        failures = cache.get_many(keys)
        if (failures.get(keys[0], 0) >= SIGNIN_MAX_FAILURES
                or failures.get(keys[1], 0) >= SIGNIN_MAX_FAILURES_PER_IP):
            form.add_error(None, SIGNIN_THROTTLED)
            status = 429
        else:
            user = authenticate(request, username=email, password=form.cleaned_data["password"])
            if user is not None:
                login(request, user)
                cache.delete(keys[0])
                return redirect(_safe_next(request, reverse("queue")))
            for key in keys:
                if not cache.add(key, 1, SIGNIN_WINDOW_S):
                    try:
                        cache.incr(key)
                    except ValueError:  # expired between add and incr
                        cache.set(key, 1, SIGNIN_WINDOW_S)
            form.add_error(None, SIGNIN_FAILED)
            status = 400
    elif request.method == "POST":
        status = 400
    return render(request, "leads/signin.html", {"form": form, "next": _safe_next(request, "")}, status=status)


@require_POST
def sign_out(request):
    logout(request)
    return redirect("signin")


# --- Queue -----------------------------------------------------------------------

def _queue_context(request) -> tuple[dict, int]:
    form = QueueFilterForm(request.GET, sources=selectors.lead_sources())
    status = 200
    if form.is_valid():
        filters = form.filters()
    else:
        filters = selectors.QueueFilters()
        status = 400
    paginator = Paginator(selectors.queue_leads(filters=filters), QUEUE_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return {
        "form": form,
        "page": page,
        "leads": page.object_list,
        "counts": selectors.status_counts(),
        "can_review": has_role(request.user, "reviewer"),
        "current_url": request.get_full_path(),
        "nav": "queue",
    }, status


@require_GET
@tenant_page()
def queue(request):
    context, status = _queue_context(request)
    return render(request, "leads/queue.html", context, status=status)


@require_GET
@tenant_page()
def queue_rows(request):
    """The rows of the queue (and the header counts, out of band), polled by htmx so leads
    arriving from the pipeline show up without a reload."""
    context, status = _queue_context(request)
    return render(request, "leads/_queue_rows.html", {**context, "oob_counts": True}, status=status)


@require_POST
@tenant_page("reviewer")
def queue_bulk_review(request):
    form = BulkReviewForm(request.POST)
    back = _safe_next(request, reverse("queue"))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    decision = form.cleaned_data["decision"]
    reviewed = leads_review_bulk(lead_ids=form.cleaned_data["ids"], decision=decision,
                                 note=form.cleaned_data["note"], user=request.user)
    skipped = len(set(form.cleaned_data["ids"])) - len(reviewed)
    verb = LeadStatus(decision).label.lower()
    text = f"{verb.capitalize()} {len(reviewed)} lead{'s' if len(reviewed) != 1 else ''}."
    if skipped:
        text += f" {skipped} skipped: no longer pending review."
    messages.success(request, text)
    return redirect(back)


# --- One lead ----------------------------------------------------------------------

def _get_lead(lead_id: int) -> Lead:
    try:
        return selectors.lead_for_detail(lead_id=lead_id)
    except Lead.DoesNotExist:
        raise Http404("No such lead.") from None


def _unmerge_service():
    """(unmerge, UnmergeError) of the deduplication stage, or None while it does not exist."""
    try:
        module = importlib.import_module("processing.deduplication")
    except ImportError:
        return None
    if not hasattr(module, "unmerge"):
        return None
    return module.unmerge, getattr(module, "UnmergeError", ValueError)


def _label(field: str) -> str:
    return {"linkedin_url": "LinkedIn URL"}.get(field, Lead._meta.get_field(field).verbose_name.capitalize())


def _yes(flag) -> bool:
    return flag is True


def _field_checks(lead: Lead, normalized: dict) -> dict[str, list[str]]:
    """What normalization found out about each contact field, in words, from its flags
    and derived columns."""
    n = normalized
    checks: dict[str, list[str]] = {field: [] for field in CONTACT_FIELDS}
    if lead.email:
        checks["email"].append("valid syntax" if _yes(n.get("email_valid")) else
                               (n.get("email_error") or "not checked") if "email_valid" in n else "not checked")
        checks["email"] += [label for key, label in (("is_role", "role account"), ("is_free", "free mail"),
                                                     ("is_disposable", "disposable")) if _yes(n.get(key))]
        if n.get("email_suggestion"):
            checks["email"].append(f"did you mean {n['email_suggestion']}?")
    if lead.phone:
        if "phone_valid" in n:
            checks["phone"].append("valid number" if _yes(n.get("phone_valid")) else (n.get("phone_error") or "not a valid number"))
        checks["phone"] += [v.replace("_", " ") for v in (n.get("phone_type"), n.get("phone_region")) if v]
        if n.get("phone_extension"):
            checks["phone"].append(f"ext. {n['phone_extension']}")
    for field, extra in (("first_name", "name_prefix"), ("last_name", "name_suffix"), ("full_name", "middle_name")):
        if n.get(extra):
            checks[field].append(f"{extra.replace('_', ' ')}: {n[extra]}")
    if lead.domain:
        checks["website"].append(f"domain {lead.domain}")
    if lead.title and (lead.seniority or lead.department):
        checks["title"].append(" · ".join(v.replace("_", " ") for v in (lead.seniority, lead.department) if v))
    if lead.country_code:
        checks["country"].append(f"{lead.country_code} {n.get('country_name', '')}".strip())
    return checks


def _contact_rows(lead: Lead, form: LeadContactForm | None = None) -> list[dict]:
    """Per contact field: the value as received (``lead.raw``), the stored normalized value
    (or the edit field) and what normalization found out about it."""
    raw = lead.raw if isinstance(lead.raw, dict) else {}
    normalized = lead.normalized if isinstance(lead.normalized, dict) else {}
    checks = _field_checks(lead, normalized)
    return [
        {
            "name": field,
            "label": _label(field),
            "raw": raw.get(field, ""),
            "value": getattr(lead, field),
            "checks": checks[field],
            "field": form[field] if form is not None else None,
        }
        for field in CONTACT_FIELDS
    ]


def _detail_context(request, lead: Lead, form: LeadContactForm | None = None) -> dict:
    breakdown = lead.score_breakdown if isinstance(lead.score_breakdown, list) else []
    return {
        "lead": lead,
        "contact_rows": _contact_rows(lead, form),
        "form": form,
        "editing": form is not None,
        "breakdown": [row for row in breakdown if isinstance(row, dict)],
        "possible_duplicates": selectors.lead_possible_duplicates(lead=lead),
        "merged_duplicates": selectors.lead_merged_duplicates(lead=lead),
        "can_unmerge": _unmerge_service() is not None,
        "events": selectors.lead_audit_history(lead=lead),
        "can_review": has_role(request.user, "reviewer"),
        "is_pending": lead.status == LeadStatus.PENDING_REVIEW,
        "review_form": ReviewForm(),
        "counts": selectors.status_counts(),
        "derived": {label: value for label, value in (
            ("Email key", lead.email_key), ("Phone key", lead.phone_key), ("Company key", lead.company_key),
            ("LinkedIn key", lead.linkedin_key), ("Name key", lead.name_key)) if value},
    }


@require_GET
@tenant_page()
def lead_detail(request, lead_id: int):
    lead = _get_lead(lead_id)
    return render(request, "leads/detail.html", _detail_context(request, lead))


@require_POST
@tenant_page("reviewer")
def lead_review_view(request, lead_id: int):
    """A plain form post (works without JavaScript): review, then go back where the reviewer was."""
    # Another tenant's id (or a deleted lead) is "not found" whatever the form holds.
    if not Lead.objects.filter(pk=lead_id).exists():
        raise Http404("No such lead.")
    back = _safe_next(request, reverse("lead-detail", args=[lead_id]))
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose approve or reject.")
        return redirect(back)
    try:
        lead = lead_review(lead_id=lead_id, decision=form.cleaned_data["decision"],
                           note=form.cleaned_data["note"], user=request.user)
    except Lead.DoesNotExist:
        raise Http404("No such lead.") from None
    except ReviewConflict as exc:
        messages.error(request, str(exc))
        return redirect(back)
    messages.success(request, f"{LeadStatus(lead.status).label} lead {lead.pk} ({lead.email or lead}).")
    return redirect(back)


@require_http_methods(["GET", "POST"])
@tenant_page("reviewer")
def lead_edit(request, lead_id: int):
    """Inline edit of the contact fields. htmx swaps the contact section in place; without
    JavaScript it is a page of its own that redirects back to the lead."""
    lead = _get_lead(lead_id)
    template = "leads/_contact.html" if _is_htmx(request) else "leads/edit.html"
    if request.method == "GET":
        form = LeadContactForm(lead=lead)
        return render(request, template, _detail_context(request, lead, form))
    form = LeadContactForm(request.POST, lead=lead)
    # Plain text fields: the form only refuses what cannot be stored (NUL characters); the
    # service validates the values. A field the form refused is never dropped and called "saved".
    if form.is_valid():
        try:
            lead = lead_update_contact(lead_id=lead.pk, changes=form.changes(), user=request.user)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
    if form.errors:
        for field in form.errors:
            if field in form.fields:
                form.fields[field].widget.attrs.update(
                    {"aria-invalid": "true", "aria-describedby": f"error-{field}"})
        return render(request, template, _detail_context(request, lead, form), status=422)
    if _is_htmx(request):
        lead = _get_lead(lead.pk)
        context = _detail_context(request, lead)
        context["saved"] = True
        return render(request, "leads/_contact.html", context)
    messages.success(request, "Contact details saved.")
    return redirect("lead-detail", lead_id=lead.pk)


@require_POST
@tenant_page("reviewer")
def lead_unmerge(request, lead_id: int, duplicate_id: int):
    """Un-merge a duplicate from this lead through the deduplication service (when the
    pipeline provides it; without it the page lists merged duplicates with no button)."""
    service = _unmerge_service()
    lead = _get_lead(lead_id)
    if service is None:
        raise Http404("Un-merging is not available.")
    duplicate = Lead.objects.filter(pk=duplicate_id, duplicate_of=lead).first()
    if duplicate is None:
        raise Http404("No such merged duplicate.")
    unmerge, unmerge_error = service
    try:
        unmerge(lead=duplicate, actor=actor_label(user=request.user))
    except unmerge_error as exc:  # a reason to show; nothing changed
        messages.error(request, str(exc))
        return redirect("lead-detail", lead_id=lead.pk)
    messages.success(request, f"Lead {duplicate_id} is no longer merged into lead {lead.pk}.")
    return redirect("lead-detail", lead_id=lead.pk)


# --- Analytics -----------------------------------------------------------------------

def _analytics_data(form: DateRangeForm) -> dict:
    span = {"date_from": form.cleaned_data["date_from"], "date_to": form.cleaned_data["date_to"]}
    return {**selectors.analytics(**span), **span}


def _daily_chart(daily: list[dict], date_from, date_to) -> dict:
    """Pivot the (day, source) counts into Chart.js datasets: one per source, a value per day."""
    days = sorted({row["day"] for row in daily})
    sources = sorted({row["source"] for row in daily})
    index = {(row["day"], row["source"]): row["leads"] for row in daily}
    return {
        "labels": [d.isoformat() for d in days],
        "datasets": [{"label": s, "data": [index.get((d, s), 0) for d in days]} for s in sources],
    }


CSV_TABLES = {
    "daily": ("leads-per-day", ["day", "source", "leads"]),
    "sources": ("sources", ["source", "leads", "avg_score", "approval_rate", "duplicate_rate", "invalid_email_rate"]),
    "funnel": ("funnel", ["status", "leads"]),
    "scores": ("score-distribution", ["label", "leads"]),
}


@require_GET
@tenant_page()
def analytics(request):
    form = DateRangeForm(request.GET)
    if not form.is_valid():
        return render(request, "leads/analytics.html", {"form": form, "counts": selectors.status_counts(), "nav": "analytics"}, status=400)
    data = _analytics_data(form)
    charts = {
        "daily": _daily_chart(data["daily"], data["date_from"], data["date_to"]),
        "funnel": {"labels": [r["label"] for r in data["funnel"]], "data": [r["leads"] for r in data["funnel"]]},
        "scores": {"labels": [r["label"] for r in data["scores"]], "data": [r["leads"] for r in data["scores"]]},
    }
    # Show the range actually used (the defaults included) in the date inputs.
    shown = DateRangeForm(initial={"date_from": data["date_from"], "date_to": data["date_to"]})
    return render(request, "leads/analytics.html", {
        "form": shown, **data, "charts": charts, "counts": selectors.status_counts(), "nav": "analytics",
        "range_query": f"date_from={data['date_from'].isoformat()}&date_to={data['date_to'].isoformat()}",
    })


@require_GET
@tenant_page()
def analytics_csv(request, table: str):
    if table not in CSV_TABLES:
        raise Http404("No such table.")
    form = DateRangeForm(request.GET)
    if not form.is_valid():
        return HttpResponse("; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()),
                            status=400, content_type="text/plain")
    data = _analytics_data(form)
    name, columns = CSV_TABLES[table]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{name}-{data["date_from"]:%Y%m%d}-{data["date_to"]:%Y%m%d}.csv"')
    writer = csv.writer(response)
    writer.writerow(columns)
    for row in data[table]:
        writer.writerow([_csv_cell(row.get(c)) for c in columns])
    return response


def _csv_cell(value):
    if value is None:
        return ""
    # A source name like "=HYPERLINK(...)" must stay text when the file is opened in a spreadsheet.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value

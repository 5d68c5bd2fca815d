from django.db import connection
from django.http import FileResponse, Http404
from django.views.decorators.http import require_GET

from leads.models import TenantSettings
from leads.validators import LOGO_FORMATS


@require_GET
def logo(request):
    """The current tenant's logo. The file is looked up from this host's own settings row, so
    no request names a path: another tenant's file cannot be asked for. Public on purpose
    (login page, emails)."""
    current = TenantSettings.current()
    prefix = f"{connection.schema_name}/branding/"
    # Belt and braces: a row never points outside its own schema's folder.
    if not current.logo or not current.logo.name.startswith(prefix) or ".." in current.logo.name:
        raise Http404("no logo")
    from PIL import Image

    try:
        handle = current.logo.open("rb")
        with Image.open(handle) as image:
            content_type = LOGO_FORMATS.get(image.format)
        handle.seek(0)
    except (FileNotFoundError, OSError):
        raise Http404("no logo")
    if content_type is None:
        handle.close()
        raise Http404("no logo")
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, max-age=300"
    return response

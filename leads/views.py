from django.db import connection
from django.shortcuts import render


def home(request):
    return render(request, "home.html", {"tenant": request.tenant, "schema": connection.schema_name})

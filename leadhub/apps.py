from django.contrib.admin.apps import AdminConfig


class LeadHubAdminConfig(AdminConfig):
    default_site = "leadhub.admin_site.LeadHubAdminSite"

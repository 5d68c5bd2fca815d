from django import forms
from django.contrib import admin

from processing.models import ProviderConfig, ProviderResult, ProviderUsage
from processing.providers.registry import is_healthy


class ProviderConfigForm(forms.ModelForm):
    # Write-only: the stored key is never sent back to the browser.
    api_key = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False),
        help_text="leave empty to keep the current key; the environment key is used when none is set",
    )
    clear_api_key = forms.BooleanField(required=False, help_text="remove this tenant's key")

    class Meta:
        model = ProviderConfig
        fields = ("enabled", "position", "monthly_credit_budget")

    def save(self, commit=True):
        config = super().save(commit=False)
        if self.cleaned_data.get("clear_api_key"):
            config.set_api_key("")
        elif self.cleaned_data.get("api_key"):
            config.set_api_key(self.cleaned_data["api_key"])
        if commit:
            config.save()
        return config


@admin.register(ProviderConfig)
class ProviderConfigAdmin(admin.ModelAdmin):
    form = ProviderConfigForm
    list_display = ("name", "enabled", "position", "masked_api_key", "monthly_credit_budget", "healthy", "last_error", "credits_remaining")
    list_editable = ("enabled", "position")
    readonly_fields = ("name", "masked_api_key", "last_error", "last_error_at", "last_success_at", "paused_until",
                       "credits_remaining", "credits_checked_at")

    @admin.display(boolean=True)
    def healthy(self, obj):
        return is_healthy(obj)

    def has_add_permission(self, request):
        return False  # one row per known provider, created on first use


@admin.register(ProviderUsage)
class ProviderUsageAdmin(admin.ModelAdmin):
    list_display = ("provider", "month", "calls", "credits")
    list_filter = ("provider",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ProviderResult)
class ProviderResultAdmin(admin.ModelAdmin):
    list_display = ("kind", "key", "provider", "final", "checks", "fetched_at", "expires_at")
    list_filter = ("kind", "provider", "final")
    search_fields = ("key",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

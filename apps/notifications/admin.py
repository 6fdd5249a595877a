from django.contrib import admin, messages
from django.shortcuts import redirect
from django.urls import path
from django.utils.translation import gettext_lazy as _

from derpmgr.admin_lists import EmailTemplateFilter
from derpmgr.admin_mixins import ReadOnlyAdmin, render_form_page
from derpmgr.errors import ServiceError
from derpmgr.net import client_ip

from . import services
from .forms import TestEmailForm
from .models import OutboundEmail


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Metadata and delivery status only, for super admins too: the bodies carry links that
    grant access (password reset, verification), so they are sealed and never shown or searched."""

    list_display = ["created_at", "to", "subject", "status", "attempts", "next_attempt_at",
                    "sent_at", "last_error"]
    list_filter = ["status", EmailTemplateFilter]  # choices from the templates: no scan
    # The Message-ID finds the row a receiving server's bounce or complaint talks about.
    search_fields = ["to", "subject", "message_id"]
    date_hierarchy = "created_at"
    fields = ["to", "template", "subject", "status", "attempts", "next_attempt_at", "slot_at",
              "sent_at", "last_error", "message_id", "created_at"]
    readonly_fields = fields
    change_list_template = "admin/notifications/outboundemail/change_list.html"

    def get_queryset(self, request):
        return OutboundEmail.objects.visible_to(request.user)

    def get_urls(self):
        test_email = path("test-email/", self.admin_site.admin_view(self.test_email),
                          name="notifications_outboundemail_test")
        return [test_email, *super().get_urls()]

    def test_email(self, request):
        """A super admin checks the mail set-up end to end."""
        if not request.user.is_superuser:
            return redirect("admin:index")
        form = TestEmailForm(request.POST or None, initial={"to": request.user.email})
        if request.method == "POST" and form.is_valid():
            try:
                services.send_test_email(actor=request.user, to=form.cleaned_data["to"],
                                         ip=client_ip(request))
            except ServiceError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, _("Test e-mail queued; its row below shows how it went."))
                return redirect("admin:notifications_outboundemail_changelist")
        return render_form_page(self, request, form=form, title=_("Send a test e-mail"),
                                button=_("Send"))

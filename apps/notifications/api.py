from django.db.models import Q
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from apps.accounts.models import User
from derpmgr.api import allowed, envelope, ok, validated
from derpmgr.errors import NotFound
from derpmgr.net import client_ip

from . import services
from .models import EmailStatus
from .serializers import ComposeSerializer


class SendView(APIView):
    """POST /api/notifications/send — queue an e-mail from an admin to one user (staff holding
    notifications.add_outboundemail: the admin role does)."""

    permission_classes = [allowed("notifications.add_outboundemail")]

    @extend_schema(request=ComposeSerializer, responses={202: envelope(
        "NotificationQueued", email_id=serializers.IntegerField(),
        status=serializers.ChoiceField(choices=EmailStatus.choices))})
    def post(self, request):
        data = validated(ComposeSerializer, request)
        match = Q(pk=data["user_id"]) if data.get("user_id") else Q(email__iexact=data["email"])
        user = User.objects.visible_to(request.user).filter(match, is_active=True).first()
        if user is None:
            raise NotFound(_("No such user."))
        email = services.compose_to_user(actor=request.user, user=user, subject=data["subject"],
                                         message=data["message"], ip=client_ip(request))
        return ok({"email_id": email.pk, "status": email.status}, status_code=202)

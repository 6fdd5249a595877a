"""What the workers do for distribution: the codes list as a CSV file (apps.operations.exports)."""

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.operations import exports
from derpmgr.errors import ServiceError

from . import codes as code_format
from .forms import CodeFilterForm
from .models import ActivationCode, CodeStatus

CODES = "codes"
CHUNK = 2000


def _clock():
    """Times as the panel shows them (its time zone), looked up once for the whole file."""
    zone = timezone.get_current_timezone()
    return lambda value: value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else ""


def filtered_codes(user, params):
    """The codes `user` may see that the filters select; a ServiceError if they are not valid."""
    form = CodeFilterForm(params)
    if not form.is_valid():
        problems = "; ".join(f"{form.fields[name].label if name in form.fields else name}: "
                             f"{' '.join(errors)}" for name, errors in form.errors.items())
        raise ServiceError(_("The filters are not valid: %(problems)s") % {"problems": problems},
                           code="bad_filters", status=400)
    return form.apply(ActivationCode.objects.visible_to(user))


@exports.exporter(CODES, filename="derpmgr-codes", label=lambda: gettext_lazy("Codes (CSV)"))
def code_rows(operation) -> exports.ExportRows:
    codes = filtered_codes(operation.requested_by, operation.args.get("params", {}))
    labels = {value: str(label) for value, label in CodeStatus.choices}
    yes, no, now, when = _("yes"), _("no"), timezone.now(), _clock()
    columns = ("code", "plan__name", "status", "paid", "created_at", "expires_at", "user__email",
               "used_at", "order__number")

    def rows():
        for (code, plan, status, paid, created, expires, email, used,
             order) in codes.order_by("-created_at", "-id").values_list(*columns).iterator(
                chunk_size=CHUNK):
            if status == CodeStatus.UNUSED and expires <= now:
                status = CodeStatus.EXPIRED
            yield [code_format.display(code), plan, labels[status], yes if paid else no,
                   when(created), when(expires), email or "", when(used), order or ""]

    header = [_("Code"), _("Plan"), _("Status"), _("Paid"), _("Created"), _("Use before"),
              _("Activated by"), _("Activated"), _("Order")]
    return exports.ExportRows(header=header, total=codes.count(), rows=rows())

"""Server input, shared by the Django admin, the ops pages and the API. Everything is checked
here, before the service does any remote work; the service checks its rules again."""

from cryptography import x509
from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from derpmgr.errors import ServiceError, show_on_form
from derpmgr.fields import StrictIntegerField

from . import certs, drivers, services
from .models import Server, ServerStatus, SshAuth, hostname_validator, phone_validator

GIB = 1024**3  # quotas are entered in GB and stored in bytes (shown back with the same unit)
MAX_QUOTA_GB = services.MAX_QUOTA_GB
# Every edit path (admin, ops pages, API) refuses a wrong quota setting in the same words.
QUOTA_ERRORS = {key: services.QUOTA_REFUSAL for key in ("invalid", "min_value", "max_value")}
RESET_DAY_ERRORS = {key: services.RESET_DAY_REFUSAL for key in ("invalid", "min_value",
                                                                  "max_value", "required")}
MAX_SECRET_CHARS = 16_000
MAX_PEM_CHARS = 64_000

fingerprint_validator = RegexValidator(
    r"^SHA256:[A-Za-z0-9+/]{43}$",
    _("Give the fingerprint as ssh-keygen -lf prints it: SHA256: and 43 characters."))
ssh_user_validator = RegexValidator(r"^[a-z_][a-z0-9_-]{0,31}$", _("Enter a Unix user name."))
image_validator = RegexValidator(r"^[a-z0-9][A-Za-z0-9._/:@-]{0,254}$",
                                 _("Enter an image reference such as fredliang/derper:latest."))
_host_name = RegexValidator(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                            r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$",
                            _("Enter an IP address or a host name."))


class FingerprintField(forms.CharField):
    """An SSH host key fingerprint as ssh-keygen prints it ("SHA256:…"); base64 padding, which
    some tools print and OpenSSH leaves out, is dropped so the two compare equal."""

    default_validators = [fingerprint_validator]

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 60)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value):
        return super().to_python(value).rstrip("=")


class TypedSecretTextarea(forms.Textarea):
    """A credential box that shows back only what was typed in the same request (a form with
    errors, so nothing has to be pasted again), never a stored value; not autocompleted."""

    def __init__(self, attrs=None):
        super().__init__({"rows": 4, "autocomplete": "off", "spellcheck": "false", **(attrs or {})})


def _pem_names(certificate: x509.Certificate) -> list[str]:
    try:
        alt = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [name.lower() for name in alt.value.get_values_for_type(x509.DNSName)]


def _covers(names: list[str], domain: str) -> bool:
    for name in names:
        if name == domain:
            return True
        if name.startswith("*.") and domain.count(".") >= 2 and domain.split(".", 1)[1] == name[2:]:
            return True
    return False


def _check_limits(form: forms.Form, **values) -> None:
    try:
        services.check_limits(**values)
    except ServiceError as error:
        show_on_form(form, error)


class AddServerForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=64)
    aliyun_account = forms.CharField(label=_("Aliyun account (phone)"), max_length=20,
                                     required=False, validators=[phone_validator])
    public_ip = forms.GenericIPAddressField(label=_("Public IP"))
    domain = forms.CharField(label=_("Domain"), max_length=253, required=False,
                             validators=[hostname_validator],
                             help_text=_("Empty: relays are reached by IP with a self-signed "
                                         "certificate pinned in the derpMap."))
    location = forms.CharField(label=_("Location"), max_length=128, required=False)
    region = forms.CharField(label=_("Region"), max_length=64, required=False)
    ssh_host = forms.CharField(label=_("SSH host"), max_length=253, required=False,
                               validators=[_host_name],
                               help_text=_("Empty: the public IP."))
    ssh_port = StrictIntegerField(label=_("SSH port"), min_value=1, max_value=65535,
                                  required=False, initial=22)
    ssh_user = forms.CharField(label=_("SSH user"), max_length=32, required=False,
                               initial="root", validators=[ssh_user_validator])
    ssh_auth = forms.ChoiceField(label=_("SSH authentication"), choices=SshAuth.choices,
                                 required=False, initial=SshAuth.KEY)
    ssh_secret = forms.CharField(
        label=_("SSH private key or password"), max_length=MAX_SECRET_CHARS, strip=False,
        widget=TypedSecretTextarea,
        help_text=_("An unencrypted OpenSSH or PEM private key, or the password. Stored "
                    "encrypted and never shown again."))
    expected_host_key_fingerprint = FingerprintField(
        label=_("Expected host key fingerprint"),
        help_text=_("Optional: SHA256:… from ssh-keygen -lf on the server. The server is "
                    "refused if it presents another key."))
    port_range_start = StrictIntegerField(label=_("First relay port"), min_value=1024,
                                          max_value=65535, initial=30000)
    port_range_end = StrictIntegerField(label=_("Last relay port"), min_value=1024,
                                        max_value=65535, initial=30999)
    max_containers = StrictIntegerField(label=_("Max relays"), min_value=1, max_value=65535,
                                        required=False, initial=100)
    monthly_quota_gb = StrictIntegerField(label=_("Monthly traffic quota (GB)"), min_value=0,
                                          max_value=MAX_QUOTA_GB, required=False, initial=0,
                                          error_messages=QUOTA_ERRORS,
                                          help_text=_("0: no quota. 1 GB is 1024³ bytes."))
    quota_reset_day = StrictIntegerField(label=_("Quota reset day"), min_value=1, max_value=28,
                                         required=False, initial=1, error_messages=RESET_DAY_ERRORS)
    traffic_interface = forms.CharField(
        label=_("Network interface"), required=False,
        validators=[RegexValidator(services.interface_validator.regex, services.INTERFACE_REFUSAL)],
        help_text=_("Whose counters measure the monthly traffic. Empty: the interface of the "
                    "default route."))
    derp_image = forms.CharField(label=_("Relay image"), max_length=255, required=False,
                                 validators=[image_validator],
                                 help_text=_("Empty: the panel's default image."))
    cert_pem = forms.CharField(label=_("Certificate (PEM)"), max_length=MAX_PEM_CHARS,
                               required=False, widget=forms.Textarea(attrs={"rows": 4}),
                               help_text=_("For a server with a domain: its certificate chain. "
                                           "Empty: a self-signed one is made."))
    key_pem = forms.CharField(label=_("Certificate key (PEM)"), max_length=MAX_PEM_CHARS,
                              required=False, widget=TypedSecretTextarea)

    # The page shows the fields in these groups, in this order (every field in one group).
    SECTIONS = (
        (_("Connection"), ("name", "public_ip", "ssh_host", "ssh_port",
                           "expected_host_key_fingerprint")),
        (_("SSH credentials"), ("ssh_user", "ssh_auth", "ssh_secret")),
        (_("Placement"), ("location", "region", "aliyun_account", "domain", "cert_pem", "key_pem",
                          "derp_image")),
        (_("Limits"), ("port_range_start", "port_range_end", "max_containers", "monthly_quota_gb",
                       "quota_reset_day", "traffic_interface")),
    )

    DEFAULTS = {"ssh_port": 22, "ssh_user": "root", "ssh_auth": SshAuth.KEY, "max_containers": 100,
                "monthly_quota_gb": 0, "quota_reset_day": 1}

    def sections(self):
        """[(title, [bound field, ...]), ...] for the page's fieldsets."""
        return [(title, [self[name] for name in names]) for title, names in self.SECTIONS]

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Enter a name."))
        return name

    def clean_domain(self):
        return self.cleaned_data["domain"].strip().lower()

    def clean(self):
        data = super().clean()
        for name, default in self.DEFAULTS.items():
            if data.get(name) in (None, "") and name not in self.errors:
                data[name] = default
        if data.get("public_ip") and not data.get("ssh_host") and "ssh_host" not in self.errors:
            data["ssh_host"] = data["public_ip"]
        self._clean_secret(data)
        self._clean_certificate(data)
        limits = ("public_ip", "ssh_host", "ssh_port", "port_range_start", "port_range_end",
                  "max_containers")
        if all(data.get(name) is not None for name in limits):
            _check_limits(self, **{name: data[name] for name in limits})
        return data

    def _clean_secret(self, data) -> None:
        secret = data.get("ssh_secret")
        if not secret or "ssh_auth" in self.errors:
            return
        if data["ssh_auth"] == SshAuth.KEY:
            secret = secret.strip() + "\n"
            try:
                drivers.load_private_key(secret)
            except drivers.RemoteError:
                self.add_error("ssh_secret", _("This is not a usable private key: paste an "
                                               "unencrypted OpenSSH or PEM key."))
                return
            data["ssh_secret"] = secret
        elif not secret.strip():
            self.add_error("ssh_secret", _("Enter the password."))

    def _clean_certificate(self, data) -> None:
        cert_pem, key_pem = data.get("cert_pem", ""), data.get("key_pem", "")
        if not cert_pem and not key_pem:
            return
        if not (cert_pem and key_pem):
            missing = "key_pem" if cert_pem else "cert_pem"
            self.add_error(missing, _("Give the certificate and its key together."))
            return
        cert_pem = data["cert_pem"] = cert_pem.strip() + "\n"  # PEM files end with a newline
        key_pem = data["key_pem"] = key_pem.strip() + "\n"
        if not data.get("domain"):
            if "domain" not in self.errors:
                self.add_error("domain", _("A certificate of your own needs the domain it was "
                                           "issued for."))
            return
        try:
            certificate = x509.load_pem_x509_certificate(cert_pem.encode())
            certs.check_pair(cert_pem.encode(), key_pem.encode())
        except ValueError as exc:
            self.add_error("key_pem" if "private key" in str(exc) else "cert_pem",
                           _("The certificate and key do not fit together, or are not PEM."))
            return
        if not _covers(_pem_names(certificate), data["domain"]):
            self.add_error("cert_pem", _("This certificate is not for %(domain)s.")
                           % {"domain": data["domain"]})

    def new_server(self) -> services.NewServer:
        data = self.cleaned_data
        return services.NewServer(
            name=data["name"], public_ip=data["public_ip"], ssh_secret=data["ssh_secret"],
            ssh_auth=data["ssh_auth"], ssh_host=data["ssh_host"], ssh_port=data["ssh_port"],
            ssh_user=data["ssh_user"], aliyun_account=data["aliyun_account"],
            domain=data["domain"], location=data["location"], region=data["region"],
            port_range_start=data["port_range_start"], port_range_end=data["port_range_end"],
            max_containers=data["max_containers"],
            monthly_quota_bytes=data["monthly_quota_gb"] * GIB,
            quota_reset_day=data["quota_reset_day"], traffic_interface=data["traffic_interface"],
            derp_image=data["derp_image"],
            expected_host_key_fingerprint=data["expected_host_key_fingerprint"],
            cert_pem=data["cert_pem"], key_pem=data["key_pem"])


class ServerChangeForm(forms.ModelForm):
    """The settings an operator may change later (services.EDITABLE_FIELDS); the quota in GB."""

    monthly_quota_gb = StrictIntegerField(label=_("Monthly traffic quota (GB)"), min_value=0,
                                          max_value=MAX_QUOTA_GB, error_messages=QUOTA_ERRORS,
                                          help_text=_("0: no quota. 1 GB is 1024³ bytes."))

    class Meta:
        model = Server
        fields = ["name", "aliyun_account", "location", "region", "port_range_start",
                  "port_range_end", "max_containers", "quota_reset_day", "traffic_interface",
                  "status", "derp_image"]
        error_messages = {"quota_reset_day": RESET_DAY_ERRORS,
                          "traffic_interface": {"invalid": services.INTERFACE_REFUSAL,
                                                "max_length": services.INTERFACE_REFUSAL}}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["monthly_quota_gb"].initial = self.instance.monthly_quota_bytes // GIB
        self.fields["derp_image"].validators.append(image_validator)
        # One refusal for every wrong name (too long included), as when adding.
        self.fields["traffic_interface"].validators = [
            RegexValidator(services.interface_validator.regex, services.INTERFACE_REFUSAL)]

    def clean(self):
        data = super().clean()
        limits = ("port_range_start", "port_range_end", "max_containers")
        if all(data.get(name) is not None for name in limits):
            _check_limits(self, public_ip=self.instance.public_ip, ssh_host=self.instance.ssh_host,
                          ssh_port=self.instance.ssh_port, **{name: data[name] for name in limits})
        return data

    def changes(self) -> dict:
        """The edited settings, as services.update_server takes them."""
        changes = {name: self.cleaned_data[name] for name in self.changed_data
                   if name in services.EDITABLE_FIELDS}
        if "monthly_quota_gb" in self.changed_data:
            changes["monthly_quota_bytes"] = self.cleaned_data["monthly_quota_gb"] * GIB
        return changes


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=[
        (value, label) for value, label in ServerStatus.choices if value != ServerStatus.SETTING_UP])


class RepinForm(forms.Form):
    expected_fingerprint = FingerprintField(
        label=_("Expected host key fingerprint"),
        help_text=_("Optional but wise: SHA256:… from ssh-keygen -lf on the server's console."))

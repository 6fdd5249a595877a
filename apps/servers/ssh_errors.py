"""SSH failures in words an operator can act on. The driver's RemoteError says what kind of
failure it was (its code); this says it to a person, in their language, without the SSH
library's own text. A closed, filtered, silent or non-SSH port stays one answer (the add form is
no port scanner: drivers.fetch_host_key)."""

from django.utils.translation import gettext as _

from . import drivers

# code -> the explanation; %(where)s is host:port, %(host)s the host alone.
EXPLANATIONS = {
    "auth_failed": lambda: _(
        "%(where)s refused the SSH credentials: check the SSH user, and that the private key "
        "(or password) is one this server accepts for that user."),
    "bad_key": lambda: _(
        "The private key cannot be read: paste an unencrypted OpenSSH or PEM private key, "
        "including its BEGIN and END lines."),
    "host_key_mismatch": lambda: _(
        "%(where)s presented an SSH host key other than the expected one. Someone may be "
        "intercepting the connection, or the server was reinstalled: compare the key on the "
        "server's console before trusting it."),
    "timeout": lambda: _(
        "%(where)s stopped answering in time: check that the server is running and that its "
        "firewall lets the panel in, then try again."),
    "unreachable": lambda: _(
        "Could not reach the server: no SSH server answered at %(where)s. Check the SSH host "
        "and port, that the server is running, and that its firewall lets the panel in."),
    "name_unresolved": lambda: _(
        "The name %(host)s could not be resolved: check its spelling and its DNS records."),
}


def kinds() -> list[str]:
    return list(EXPLANATIONS)


def explain(error: drivers.RemoteError, *, host: str, port: int) -> str | None:
    """The plain explanation of an SSH failure, or None when it is not one of the SSH kinds
    (a command or the container engine failed: their own message says more)."""
    explanation = EXPLANATIONS.get(error.code)
    if explanation is None:
        return None
    return explanation() % {"where": f"{host}:{port}", "host": host}

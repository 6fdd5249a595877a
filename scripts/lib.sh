# Shared by scripts/run.sh and scripts/test.sh. Sourced, not run.

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

# Each phase says when it starts (seconds since the script began), so slow phases show.
say() { printf '\033[1m==> [%ss] %s\033[0m\n' "$SECONDS" "$*"; }

is_root() { [ "$(id -u)" = 0 ]; }

# Install Debian packages that are missing (as root); say what is missing otherwise.
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! is_root; then
    echo "Missing Debian packages: ${missing[*]} (run as root, or install them)." >&2
    return 1
  fi
  say "Installing Debian packages: ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; then
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
  fi
}

# The virtualenv with the given requirements file installed (only re-installed when it changed).
ensure_venv() {
  local requirements=$1
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "derpmgr needs Python 3.11 or newer ($PYTHON is older)." >&2; exit 1; }
  if [ ! -x "$VENV/bin/python" ]; then
    say "Creating the virtualenv in $VENV"
    if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
      rm -rf "$VENV"
      local version
      version=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
      apt_install "python${version}-venv" || apt_install python3-venv
      "$PYTHON" -m venv "$VENV"
    fi
  fi
  local stamp="$VENV/.installed-$(basename "$requirements")"
  local digest
  digest=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    say "Installing Python packages ($requirements)"
    # (pip's notes about this machine's optional local indexes are noise; errors still show.)
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements" \
      2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
    echo "$digest" > "$stamp"
  fi
}

tcp_open() {  # host port
  "$PYTHON" - "$1" "$2" <<'PY'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
except OSError:
    sys.exit(1)
PY
}

# Install Debian packages without letting them start their daemons (openssh-server would start a
# system sshd): the tests start what they need themselves and stop it again.
apt_install_without_starting() {
  local guard=/usr/sbin/policy-rc.d made_guard=false status=0
  if is_root && [ ! -e "$guard" ]; then
    printf '#!/bin/sh\n# derpmgr: no service starts while packages install\nexit 101\n' > "$guard"
    chmod 755 "$guard"
    made_guard=true
  fi
  apt_install "$@" || status=$?
  [ "$made_guard" = true ] && rm -f "$guard"
  return $status
}

# podman as the fleet tests use it here: runc (crun fails under cgroups hybrid mode), cgroupfs,
# no raising of RLIMIT_NOFILE (the sandbox forbids it), events in a file. Written only when the
# file is missing or lacks one of these; the previous file is kept beside it.
configure_podman() {
  local conf=/etc/containers/containers.conf
  if [ -f "$conf" ] \
    && grep -Eq '^[[:space:]]*default_ulimits[[:space:]]*=[[:space:]]*\[[[:space:]]*\]' "$conf" \
    && grep -Eq '^[[:space:]]*runtime[[:space:]]*=[[:space:]]*"runc"' "$conf" \
    && grep -Eq '^[[:space:]]*cgroup_manager[[:space:]]*=[[:space:]]*"cgroupfs"' "$conf" \
    && grep -Eq '^[[:space:]]*events_logger[[:space:]]*=[[:space:]]*"file"' "$conf"; then
    return 0
  fi
  say "Configuring podman ($conf)"
  mkdir -p /etc/containers
  if [ -f "$conf" ]; then
    cp -p "$conf" "$conf.before-derpmgr.$(date +%Y%m%d%H%M%S)"
  fi
  cat > "$conf" <<'CONF'
# Written by derpmgr's scripts/test.sh (the previous file, if any, is kept beside this one).
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
}

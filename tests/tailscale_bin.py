"""Where scripts/build-tailscale.sh put the real Tailscale parts, at the versions pinned in
scripts/tailscale-versions.env. No Django imports (the benchmark uses this before Django is set up).
"""

import os
from pathlib import Path

VERSIONS_FILE = Path(__file__).resolve().parent.parent / "scripts" / "tailscale-versions.env"


def versions() -> dict[str, str]:
    pinned = {}
    for line in VERSIONS_FILE.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            pinned[name.strip()] = value.strip()
    return pinned


def bin_dir() -> Path:
    """The same default as the build script's (TAILSCALE_BIN_DIR overrides both)."""
    return Path(os.environ.get("TAILSCALE_BIN_DIR") or Path.home() / ".cache" / "derpmgr" / "bin")


def binary(name: str) -> Path:
    """derper, tailscaled, tailscale or headscale at its pinned version."""
    pinned = versions()
    folder = (f"headscale-{pinned['HEADSCALE_VERSION']}" if name == "headscale"
              else f"tailscale-{pinned['TAILSCALE_VERSION']}")
    return bin_dir() / folder / name


def missing(*names: str) -> list[str]:
    """Those of `names` not built yet (scripts/build-tailscale.sh builds them)."""
    return [f"{binary(name)} (scripts/build-tailscale.sh)" for name in names
            if not os.access(binary(name), os.X_OK)]

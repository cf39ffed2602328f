"""How much room a disk has left, in the words every "disk full" message uses."""

import shutil
from pathlib import Path


def free_space(folder: Path) -> str:
    """``"12.3 MB free"`` or ``"4.2 GB free"`` on the disk of ``folder`` or of its nearest parent."""
    existing = next((path for path in [folder, *folder.parents] if path.is_dir()), folder)
    try:
        free = shutil.disk_usage(existing).free
    except OSError:
        return "an unknown amount free"
    return f"{free / 1e9:,.1f} GB free" if free >= 1e9 else f"{free / 1e6:,.1f} MB free"

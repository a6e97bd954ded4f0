"""Streamlit Community Cloud entry point: the dashboard as a demo, on CPU-only PyTorch.

Community Cloud installs the dependency file beside the entry point before the one at the
repository root, so pointing an app at this file makes it install `deploy/requirements.txt`
(PyTorch's CPU wheels) instead of `requirements.txt` (PyPI's CUDA wheels, too large for its
free tier). The dashboard itself is `app.py`, run unchanged; training is hidden by default.
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# A shared demo: hide the Train page unless the deployer says otherwise.
os.environ.setdefault("JLML_DEMO", "1")
# Streamlit puts this file's folder on sys.path, not the repository root that holds the packages.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

runpy.run_path(str(ROOT / "app.py"), run_name="__main__")

"""Show generated derivatives as highlighted source in IPython and Jupyter."""

from __future__ import annotations

import html
import sys
import types


def _as_html(func):
    source = getattr(func, "tangent_source", None)
    if source is None:
        return None  # not a derivative: let IPython show it as usual
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer
    except ImportError:
        return f"<pre>{html.escape(source)}</pre>"
    return highlight(source, PythonLexer(), HtmlFormatter(noclasses=True))


def register_ipython_display() -> bool:
    """Make IPython display generated functions as their source (if running)."""
    if "IPython" not in sys.modules:
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    formatters = shell.display_formatter.formatters
    formatters["text/html"].for_type(types.FunctionType, _as_html)
    return True

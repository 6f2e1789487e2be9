"""What reverse and forward mode share: the function being differentiated,
its analyses, and the names of derivative variables (``dx`` for ``x``)."""

from __future__ import annotations

import ast

from .activity import Analysis
from .frontend import ParsedFunction
from .mutations import check_mutations
from .naming import Namer


class Differentiator:
    """Base of ReverseMode and ForwardMode.

    ``session`` is the driver (transform.Session): it binds globals of the
    generated module and generates the derivatives of called user functions.
    """

    # Forward mode keeps tangents aliased exactly as values, so only reverse
    # mode must refuse writes into memory that an alias reads later.
    refuse_aliased_writes: bool | str = True

    def __init__(self, session, parsed: ParsedFunction, tree: ast.FunctionDef, wrt: list[str], namer: Namer,
                 argument_kinds: dict | None = None):
        self.session = session
        self.parsed = parsed
        self.origin = parsed.origin
        self.tree = tree
        self.wrt = wrt
        self.namer = namer
        self.analysis = Analysis(tree, set(wrt), argument_kinds)
        self.refuse_unsupported(tree)
        check_mutations(tree, self.origin, self.analysis, aliases=self.refuse_aliased_writes)
        self.derivative_names: dict[str, str] = {}

    def refuse_unsupported(self, tree: ast.FunctionDef) -> None:
        """Raise the refusal of a construct this mode cannot differentiate,
        before the general checks (whose messages would be less to the point)."""

    def d(self, var: str) -> str:
        """The name of the derivative (adjoint or tangent) of ``var``."""
        if var not in self.derivative_names:
            self.derivative_names[var] = self.namer.fresh("d" + var)
        return self.derivative_names[var]

    def error(self, cls, node, message, hint=""):
        return self.origin.error(cls, node, message, hint)

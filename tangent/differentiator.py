"""What reverse and forward mode share: the function being differentiated,
its analyses, the names of derivative variables (``dx`` for ``x``), and the
path from a call to its derivative rule.

Takes: a normalized function (``normalize.normalize``), the names of its
active parameters, and the session (``transform.Session``).

Gives: ``Differentiator``, the base of ``ReverseMode`` and ``ForwardMode``:
on construction the analyses are run and unsupported constructs refused;
``rule_for`` finds and binds the rule of a call, raising the same refusals
in both modes.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass

from . import rules, shift_invariance
from .activity import Analysis
from .errors import NoDerivativeError, NotDifferentiableError, TangentSyntaxError
from .frontend import ParsedFunction
from .mutations import check_mutations
from .naming import Namer


def derivative_name(names: dict[str, str], namer: Namer, var: str) -> str:
    """``names[var]``, a fresh ``d<var>`` the first time."""
    if var not in names:
        names[var] = namer.fresh("d" + var)
    return names[var]


@dataclass
class BoundRule:
    """A derivative rule matched to one call: ``bound`` maps the rule's
    parameters to the call's atoms, its first one (``result_param``) to the
    call's result."""

    template: object  # rules.Template
    bound: dict
    result_param: str


def describe_callee(callee) -> str:
    """``numpy.sin``, ``mymodule.f``: how error messages name a function."""
    module = getattr(callee, "__module__", None) or ""
    qual = getattr(callee, "__qualname__", None) or getattr(callee, "__name__", None) or repr(callee)
    if module.startswith("numpy"):
        module = "numpy"
    package, name = sys.modules.get(module.split(".")[0]), getattr(callee, "__name__", None)
    if module not in ("numpy", "builtins") and package is not None and isinstance(name, str) \
            and getattr(package, name, None) is callee:
        return f"{package.__name__}.{name}"  # (torch.tensor, not torch._VariableFunctionsClass.tensor)
    return f"{module}.{qual}" if module and module != "builtins" else qual


class Differentiator:
    """Base of ReverseMode and ForwardMode.

    ``session`` is the driver (transform.Session): it binds globals of the
    generated module and generates the derivatives of called user functions.
    """

    # Forward mode keeps tangents aliased exactly as values, so only reverse
    # mode must refuse writes into memory that an alias reads later.
    refuse_aliased_writes: bool | str = True

    def __init__(self, session, parsed: ParsedFunction, tree: ast.FunctionDef, wrt: list[str], namer: Namer,
                 argument_kinds: dict | None = None, example_shapes: dict | None = None):
        self.session = session
        self.parsed = parsed
        self.origin = parsed.origin
        self.tree = tree
        self.wrt = wrt
        self.namer = namer
        shift_invariance.mark(tree, example_shapes)  # (extrema subtracted out again: held constant)
        self.analysis = Analysis(tree, set(wrt), argument_kinds)
        self.refuse_unsupported(tree)
        check_mutations(tree, self.origin, self.analysis, aliases=self.refuse_aliased_writes,
                        undone=getattr(self, "undone_writes", frozenset()),
                        tape_ops=getattr(self, "tape_operations", frozenset()))
        self.derivative_names: dict[str, str] = {}

    def refuse_unsupported(self, tree: ast.FunctionDef) -> None:
        """Raise the refusal of a construct this mode cannot differentiate,
        before the general checks (whose messages would be less to the point)."""

    def d(self, var: str) -> str:
        """The name of the derivative (adjoint or tangent) of ``var``."""
        return derivative_name(self.derivative_names, self.namer, var)

    def error(self, cls, node, message, hint=""):
        return self.origin.error(cls, node, message, hint)

    def rule_for(self, stmt: ast.stmt, callee, args: list[ast.expr], keywords: dict[str, ast.expr], kind: str,
                 result: ast.expr, template=None) -> BoundRule:
        """The ``kind`` ("adjoint" or "tangent") rule of ``callee`` (or the
        given ``template``, a shape variant) bound to the call's arguments
        and to ``result``. Raises NoDerivativeError when there is no rule,
        TangentSyntaxError when the call does not match its signature."""
        if template is None:
            template = rules.lookup_adjoint(callee) if kind == "adjoint" else rules.lookup_tangent(callee)
        if template is None:
            raise self.missing_rule(stmt, callee, args, keywords, kind)
        try:
            bound = template.bind(args, keywords, self.session.bind_global)
        except TypeError as e:
            raise self.error(TangentSyntaxError, stmt, f"cannot match the call to the rule {template}: {e}") from None
        except NotDifferentiableError as e:  # a constant argument the rule refuses (rules/domain.py)
            raise self.error(NotDifferentiableError, stmt, str(e)) from None
        result_param = next(iter(template.signature.parameters))
        bound[result_param] = result
        return BoundRule(template, bound, result_param)

    def missing_rule(self, stmt, callee, args, keywords, kind: str) -> Exception:
        """The refusal of a call with no ``kind`` rule."""
        label = describe_callee(callee)
        if kind == "tangent":
            return self.error(NoDerivativeError, stmt, f"no forward-mode rule for {label}",
                              f"register one with @tangent.tangent_rule({label.split('.')[-1]})")
        if isinstance(callee, type) and callee.__module__ not in ("builtins",) and not callee.__module__.startswith("numpy"):
            return self.error(
                NoDerivativeError, stmt,
                f"creating a {callee.__name__} from differentiated values inside the function is not supported",
                f"create the object outside and pass it in (annotate the parameter, e.g. obj: {callee.__name__}; "
                "its gradient is a dict of its attributes' gradients)",
            )
        active = [a.id for a in args + list(keywords.values())
                  if isinstance(a, ast.Name) and self.analysis.is_varied(a.id, stmt) and not a.id.startswith("_")]
        through = f"with respect to {', '.join(active)}" if active else "with respect to its argument"
        return self.error(
            NoDerivativeError, stmt,
            f"no derivative rule for {label}, called {through}",
            f"register one with @tangent.adjoint({label.split('.')[-1]}), or wrap the argument in "
            "tangent.stop_gradient if it should not be differentiated",
        )

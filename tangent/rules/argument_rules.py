"""Rules of the private copies of written arguments (``runtime.arguments``):
the copy is the identity for derivatives (linear, its own transpose); the
write-back and the check for shared arguments carry no derivative."""

from __future__ import annotations

from ..runtime.arguments import (
    check_number_list,
    check_restored,
    private_copy,
    refuse_shared_arguments,
    snapshot_argument,
    write_back_arguments,
)
from . import d, linear, nondifferentiable


@linear(private_copy)
def l_private_copy(z, value, memo=None):
    return private_copy(value), d[z]


nondifferentiable(write_back_arguments, refuse_shared_arguments, snapshot_argument, check_restored, check_number_list)

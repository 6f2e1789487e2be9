"""GradBench ``ba``: the Jacobian of bundle adjustment's residuals.

Camera i has 11 parameters (rotation as angle-axis 0:3, centre 3:6, focal
length 6, principal point 7:9, radial distortion 9:11); observation j sees
point ``X[obs[j, 1]]`` from camera ``cams[obs[j, 0]]`` with weight ``w[j]``.
Residuals: ``w_j (project(cam, X) - feat_j)`` (2 per observation) and
``1 - w_j^2``. GradBench asks for the sparse Jacobian; each observation's two
reprojection rows depend on its camera's 11 parameters, its point's 3 and its
weight, so the nonzero 2 x 15 blocks come from 15 Jacobian-vector products of
the residuals written over all observations at once (one tangent per column
of the block, the same for every observation). GradBench's inputs are one
camera, point, weight and feature duplicated; here they are random.

Written vectorised over observations, as one writes NumPy. ADBench's scalar
code has a branch for a zero rotation (``X + rot x X``); over all
observations that branch would be an ``np.where`` whose other side divides by
zero, and no observation has a zero rotation, so it is left out.
"""

import numpy as np

TASK, WRT = "jacobian", (0, 1, 2)
SIZE = "n=21 m=11315 p=36455 (ba2)"


def rodrigues_rotate(rot, X):
    theta = np.sqrt(np.sum(rot * rot, axis=1, keepdims=True))
    axis = rot / theta
    cos, sin = np.cos(theta), np.sin(theta)
    along = np.sum(axis * X, axis=1, keepdims=True)
    return X * cos + np.cross(axis, X) * sin + axis * along * (1.0 - cos)


def project(cam, X):
    Xcam = rodrigues_rotate(cam[:, 0:3], X - cam[:, 3:6])
    p = Xcam[:, 0:2] / Xcam[:, 2:3]
    rsq = np.sum(p * p, axis=1, keepdims=True)
    distortion = 1.0 + cam[:, 9:10] * rsq + cam[:, 10:11] * rsq * rsq
    return p * distortion * cam[:, 6:7] + cam[:, 7:9]


def reprojection_errors(cam, X, w, feat):
    """Rows are observations: cam (p, 11), X (p, 3), w (p,), feat (p, 2)."""
    return w[:, None] * (project(cam, X) - feat)


def weight_errors(w):
    return 1.0 - w * w


DIFFERENTIATE = reprojection_errors


def directions(p):
    """The 15 tangents (cam, X, w) whose products give the Jacobian blocks."""
    for column in range(15):
        unit = np.zeros(15)
        unit[column] = 1.0
        yield (np.broadcast_to(unit[:11], (p, 11)).copy(), np.broadcast_to(unit[11:14], (p, 3)).copy(),
               np.full(p, unit[14]))


def jacobian_with(jvp, cam, X, w, feat):
    """(p, 2, 15) blocks of d reprojection / d (cam, X, w), given a jvp."""
    return np.stack([jvp(cam, X, w, feat, *t) for t in directions(len(w))], axis=-1)


def by_hand(cam, X, w, feat):
    """The 2 x 15 blocks by forward mode written out: each value ``v`` has
    its derivative ``dv`` with a trailing axis over the 15 parameters."""
    p = len(w)
    eye = np.eye(15)
    dcam = np.broadcast_to(eye[:11], (p, 11, 15))
    dX = np.broadcast_to(eye[11:14], (p, 3, 15))
    dw = np.broadcast_to(eye[14], (p, 15))
    rot, drot = cam[:, 0:3], dcam[:, 0:3]
    Y, dY = X - cam[:, 3:6], dX - dcam[:, 3:6]
    theta = np.sqrt(np.sum(rot * rot, axis=1))[:, None]
    dtheta = np.einsum("pi,pij->pj", rot, drot)[:, None, :] / theta[:, :, None]
    axis = rot / theta
    daxis = drot / theta[:, :, None] - axis[:, :, None] * dtheta / theta[:, :, None]
    cos, sin = np.cos(theta), np.sin(theta)
    dcos, dsin = -sin[:, :, None] * dtheta, cos[:, :, None] * dtheta
    cross = np.cross(axis, Y)
    dcross = np.cross(daxis, Y[:, :, None], axis=1) + np.cross(axis[:, :, None], dY, axis=1)
    along = np.sum(axis * Y, axis=1, keepdims=True)
    dalong = (np.einsum("pij,pi->pj", daxis, Y) + np.einsum("pi,pij->pj", axis, dY))[:, None, :]
    Xcam = Y * cos + cross * sin + axis * along * (1.0 - cos)
    dXcam = (dY * cos[:, :, None] + Y[:, :, None] * dcos + dcross * sin[:, :, None] + cross[:, :, None] * dsin
             + daxis * (along * (1.0 - cos))[:, :, None] + axis[:, :, None] * dalong * (1.0 - cos)[:, :, None]
             - (axis * along)[:, :, None] * dcos)
    z, dz = Xcam[:, 2:3], dXcam[:, 2:3]
    pr = Xcam[:, 0:2] / z
    dpr = dXcam[:, 0:2] / z[:, :, None] - pr[:, :, None] * dz / z[:, :, None]
    rsq = np.sum(pr * pr, axis=1, keepdims=True)
    drsq = 2.0 * np.einsum("pi,pij->pj", pr, dpr)[:, None, :]
    k1, k2 = cam[:, 9:10], cam[:, 10:11]
    L = 1.0 + k1 * rsq + k2 * rsq * rsq
    dL = (dcam[:, 9:10] * rsq[:, :, None] + k1[:, :, None] * drsq + dcam[:, 10:11] * (rsq * rsq)[:, :, None]
          + 2.0 * (k2 * rsq)[:, :, None] * drsq)
    f = cam[:, 6:7]
    proj = pr * L * f + cam[:, 7:9]
    dproj = (dpr * (L * f)[:, :, None] + pr[:, :, None] * dL * f[:, :, None]
             + (pr * L)[:, :, None] * dcam[:, 6:7] + dcam[:, 7:9])
    return dw[:, None, :] * (proj - feat)[:, :, None] + w[:, None, None] * dproj


def gather(cams, X, obs):
    """Per-observation camera and point rows."""
    return cams[obs[:, 0]], X[obs[:, 1]]


def _input(n, m, p, seed):
    rng = np.random.default_rng(seed)
    cams = np.concatenate([rng.uniform(-0.3, 0.3, (n, 3)), rng.uniform(-1.0, 1.0, (n, 3)),
                           rng.uniform(400.0, 600.0, (n, 1)), rng.uniform(-1.0, 1.0, (n, 2)),
                           rng.uniform(-1e-3, 1e-3, (n, 2))], axis=1)
    X = rng.uniform(-1.0, 1.0, (m, 3)) + np.array([0.0, 0.0, 8.0])  # in front of the cameras
    obs = np.stack([np.arange(p) % n, np.arange(p) % m], axis=1)
    cam, x = gather(cams, X, obs)
    w = rng.uniform(0.5, 1.5, p)
    feat = rng.uniform(-100.0, 100.0, (p, 2))
    return cam, x, w, feat


def small_input(seed=0):
    return _input(3, 5, 8, seed)


def gradbench_input(seed=0):
    return _input(21, 11315, 36455, seed)

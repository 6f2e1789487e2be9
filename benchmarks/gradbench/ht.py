"""GradBench ``ht`` (simple variant): the Jacobian of hand-tracking residuals.

A hand model of 22 bones (a wrist of two bones, four per finger) skins V
vertices by linear blend skinning; 26 pose parameters theta (global
angle-axis rotation 0:3, translation 3:6, then per finger two angles for its
first bone and one for the next two) pose the bones by Euler angles. The
residuals are observed points minus their corresponding skinned vertices;
GradBench asks for their Jacobian with respect to theta (3n x 26: forward mode,
``tangent.jacobian``). GradBench reads ADBench's hand model from files; here a
random model of the same structure is generated (``_model``). The
"complicated" variant (barycentric coordinates ``us`` on triangles) is not
written.
"""

import numpy as np

TASK, WRT = "jacobian", (0,)
SIZE = "22 bones, V=544 vertices, n=1600 points"
N_THETA = 26


def pose_rows(theta):
    """Rows of 3: global rotation, scale, translation, then each bone's angles."""
    zero = np.zeros(3)
    rows = [theta[0:3], np.ones(3), theta[3:6], zero, zero]  # the wrist's two bones do not move
    i = 6
    for _finger in range(5):
        rows.append(np.array([theta[i], theta[i + 1], 0.0]))
        rows.append(np.array([theta[i + 2], 0.0, 0.0]))
        rows.append(np.array([theta[i + 3], 0.0, 0.0]))
        rows.append(zero)  # finger tip
        i += 4
    return rows


def euler_to_rotation(xzy):
    cx, sx = np.cos(xzy[0]), np.sin(xzy[0])
    cy, sy = np.cos(xzy[2]), np.sin(xzy[2])
    cz, sz = np.cos(xzy[1]), np.sin(xzy[1])
    Rx = np.array([[1.0, 0.0, 0.0], [0.0, cx, -sx], [0.0, sx, cx]])
    Ry = np.array([[cy, 0.0, -sy], [0.0, 1.0, 0.0], [sy, 0.0, cy]])
    Rz = np.array([[cz, -sz, 0.0], [sz, cz, 0.0], [0.0, 0.0, 1.0]])
    return Rz @ Ry @ Rx


def homogeneous(R):
    """The 4 x 4 transform rotating by R."""
    top = np.concatenate([R, np.zeros((3, 1))], axis=1)
    return np.concatenate([top, np.array([[0.0, 0.0, 0.0, 1.0]])], axis=0)


def angle_axis_to_rotation(angle_axis):
    angle = np.sqrt(np.sum(angle_axis * angle_axis))
    if angle < 1e-4:
        return np.eye(3)
    x, y, z = angle_axis / angle
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[x * x + (1 - x * x) * c, x * y * (1 - c) - z * s, x * z * (1 - c) + y * s],
                     [x * y * (1 - c) + z * s, y * y + (1 - y * y) * c, y * z * (1 - c) - x * s],
                     [x * z * (1 - c) - y * s, z * y * (1 - c) + x * s, z * z + (1 - z * z) * c]])


def skinned_vertices(theta, model):
    rows = pose_rows(theta)
    absolutes = []
    for bone, parent in enumerate(model["parents"]):
        relative = model["base_relatives"][bone] @ homogeneous(euler_to_rotation(rows[3 + bone]))
        absolutes.append(relative if parent < 0 else absolutes[parent] @ relative)
    positions = np.zeros((model["base_positions"].shape[0], 3))
    for bone in range(len(absolutes)):
        transform = absolutes[bone] @ model["inverse_base_absolutes"][bone]
        moved = model["base_positions"] @ transform.T
        positions = positions + model["weights"][:, bone:bone + 1] * moved[:, :3]
    R = angle_axis_to_rotation(rows[0]) * rows[1]
    return positions @ R.T + rows[2]


def hand_residuals(theta, model, data):
    return data["points"] - skinned_vertices(theta, model)[data["correspondences"]]


DIFFERENTIATE = hand_residuals


def jacobian_with(jvp, theta, model, data):
    """(n, 3, 26) Jacobian from one jvp per parameter."""
    return np.stack([jvp(theta, model, data, np.eye(N_THETA)[j]) for j in range(N_THETA)], axis=-1)


# ---- by hand: forward mode written out, a leading axis of 26 on every derivative

def _cross_matrix(u):
    """[u]_x for u of shape (..., 3)."""
    z = np.zeros(u.shape[:-1])
    return np.stack([np.stack([z, -u[..., 2], u[..., 1]], -1), np.stack([u[..., 2], z, -u[..., 0]], -1),
                     np.stack([-u[..., 1], u[..., 0], z], -1)], -2)


def _axis_rotation(angle, axis):
    """Rotation by ``angle`` as ``euler_to_rotation`` builds it, and its derivative in the angle."""
    c, s = np.cos(angle), np.sin(angle)
    if axis == "x":
        return (np.array([[1, 0, 0], [0, c, -s], [0, s, c]]), np.array([[0, 0, 0], [0, -s, -c], [0, c, -s]]))
    if axis == "y":
        return (np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]]), np.array([[-s, 0, -c], [0, 0, 0], [c, 0, -s]]))
    return (np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]), np.array([[-s, -c, 0], [c, -s, 0], [0, 0, 0]]))


def _angles(theta):
    """(22, 3) Euler angles of the bones and their derivative (26, 22, 3)."""
    angles, dangles = np.zeros((22, 3)), np.zeros((N_THETA, 22, 3))
    i = 6
    for finger in range(5):
        first = 2 + 4 * finger
        for bone, col, j in ((first, 0, i), (first, 1, i + 1), (first + 1, 0, i + 2), (first + 2, 0, i + 3)):
            angles[bone, col] = theta[j]
            dangles[j, bone, col] = 1.0
        i += 4
    return angles, dangles


def by_hand(theta, model, data):
    angles, dangles = _angles(theta)
    absolutes, dabsolutes = [], []
    for bone, parent in enumerate(model["parents"]):
        (Rx, Rx1), (Ry, Ry1), (Rz, Rz1) = (_axis_rotation(angles[bone, k], a) for k, a in ((0, "x"), (2, "y"), (1, "z")))
        R = Rz @ Ry @ Rx
        dR = (dangles[:, bone, 1, None, None] * (Rz1 @ Ry @ Rx) + dangles[:, bone, 2, None, None] * (Rz @ Ry1 @ Rx)
              + dangles[:, bone, 0, None, None] * (Rz @ Ry @ Rx1))
        H, dH = np.eye(4), np.zeros((N_THETA, 4, 4))
        H[:3, :3], dH[:, :3, :3] = R, dR
        base = model["base_relatives"][bone]
        rel, drel = base @ H, base @ dH
        if parent < 0:
            absolutes.append(rel)
            dabsolutes.append(drel)
        else:
            absolutes.append(absolutes[parent] @ rel)
            dabsolutes.append(dabsolutes[parent] @ rel + absolutes[parent] @ drel)
    inv = model["inverse_base_absolutes"]
    T = np.stack(absolutes) @ inv  # (22, 4, 4)
    dT = np.stack(dabsolutes, axis=1) @ inv  # (26, 22, 4, 4)
    base_positions, weights = model["base_positions"], model["weights"]
    positions = np.einsum("vb,bij,vj->vi", weights, T, base_positions)[:, :3]
    dpositions = np.einsum("vb,dbij,vj->dvi", weights, dT, base_positions)[:, :, :3]
    aa = theta[0:3]
    angle = np.sqrt(aa @ aa)
    daa = np.eye(N_THETA)[:, 0:3]
    dangle = daa @ aa / angle
    u = aa / angle
    du = daa / angle - np.outer(dangle, u) / angle
    c, s = np.cos(angle), np.sin(angle)
    dc, ds = -s * dangle, c * dangle
    K, dK = _cross_matrix(u), _cross_matrix(du)
    uu, duu = np.outer(u, u), du[:, :, None] * u[None, None, :] + u[None, :, None] * du[:, None, :]
    R = c * np.eye(3) + s * K + (1 - c) * uu
    dR = (dc[:, None, None] * (np.eye(3) - uu) + ds[:, None, None] * K + s * dK + (1 - c) * duu)
    dout = dpositions @ R.T + np.einsum("vj,dij->dvi", positions, dR) + np.eye(N_THETA)[:, None, 3:6]
    return -np.moveaxis(dout[:, data["correspondences"]], 0, -1)


# ---- inputs

def _rotation(rng, scale):
    return euler_to_rotation(rng.uniform(-scale, scale, 3))


def _model(n_vertices, rng):
    parents = [-1, 0]
    for finger in range(5):
        parents += [1, 2 + 4 * finger, 3 + 4 * finger, 4 + 4 * finger]
    relatives = []
    for bone in range(22):
        M = homogeneous(_rotation(rng, 0.3))
        M[:3, 3] = rng.uniform(-0.2, 0.2, 3) + (np.array([0.0, 1.0, 0.0]) if bone > 1 else 0.0)
        relatives.append(M)
    absolutes = []
    for bone, parent in enumerate(parents):
        absolutes.append(relatives[bone] if parent < 0 else absolutes[parent] @ relatives[bone])
    weights = rng.random((n_vertices, 22)) ** 8  # each vertex mostly follows a few bones
    positions = np.concatenate([rng.uniform(-3.0, 3.0, (n_vertices, 3)), np.ones((n_vertices, 1))], axis=1)
    return {"parents": parents, "base_relatives": np.stack(relatives),
            "inverse_base_absolutes": np.linalg.inv(np.stack(absolutes)),
            "base_positions": positions, "weights": weights / weights.sum(axis=1, keepdims=True)}


def _input(n_vertices, n_points, seed):
    rng = np.random.default_rng(seed)
    model = _model(n_vertices, rng)
    data = {"correspondences": rng.integers(0, n_vertices, n_points),
            "points": rng.uniform(-3.0, 3.0, (n_points, 3))}
    return rng.uniform(-0.5, 0.5, N_THETA), model, data


def small_input(seed=0):
    return _input(12, 10, seed)


def gradbench_input(seed=0):
    return _input(544, 1600, seed)

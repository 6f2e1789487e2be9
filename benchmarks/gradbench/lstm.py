"""GradBench ``lstm``: the gradient of ADBench's LSTM text-model loss.

Every weight matrix is diagonal (ADBench's quirk): layer i has weight
``main[2i]`` and bias ``main[2i + 1]`` (length 4b, gates forget/input/output/
change), ``extra`` scales the input and the output; the state holds each
layer's hidden and cell vectors. The loss is the mean negative log-softmax
likelihood of each next character (bit vectors of length b). GradBench asks for
the gradient with respect to ``main`` and ``extra``. Written with the state as
a list of (hidden, cell) pairs, the way one thinks of it.
"""

import numpy as np

TASK, WRT = "gradient", (0, 1)
SIZE = "l=2 c=1024 b=14"


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def lstm_cell(weight, bias, hidden, cell, x):
    b = hidden.shape[0]
    gates = np.concatenate([x, hidden, x, hidden]) * weight + bias
    forget = sigmoid(gates[:b])
    ingate = sigmoid(gates[b:2 * b])
    outgate = sigmoid(gates[2 * b:3 * b])
    change = np.tanh(gates[3 * b:])
    cell = cell * forget + ingate * change
    hidden = outgate * np.tanh(cell)
    return hidden, cell


def predict(main, extra, layers, x):
    x = x * extra[0]
    new_layers = []
    for i, (hidden, cell) in enumerate(layers):
        hidden, cell = lstm_cell(main[2 * i], main[2 * i + 1], hidden, cell, x)
        new_layers.append((hidden, cell))
        x = hidden
    return x * extra[1] + extra[2], new_layers


def lstm_loss(main, extra, state, sequence):
    layers = [(state[2 * i], state[2 * i + 1]) for i in range(state.shape[0] // 2)]
    total = 0.0
    for t in range(sequence.shape[0] - 1):
        ypred, layers = predict(main, extra, layers, sequence[t])
        ynorm = ypred - np.log(np.sum(np.exp(ypred)))
        total = total + np.sum(sequence[t + 1] * ynorm)
    return -total / ((sequence.shape[0] - 1) * sequence.shape[1])


DIFFERENTIATE = lstm_loss


def by_hand(main, extra, state, sequence):
    """Backpropagation through time, written out."""
    n_layers, b = state.shape[0] // 2, state.shape[1]
    steps = sequence.shape[0] - 1
    hs = [state[2 * i] for i in range(n_layers)]
    cs = [state[2 * i + 1] for i in range(n_layers)]
    tape = []  # per step: per layer (inputs, h_prev, c_prev, gate values, tanh(c)), and ypred
    for t in range(steps):
        x = sequence[t] * extra[0]
        record = []
        for i in range(n_layers):
            inputs = np.concatenate([x, hs[i], x, hs[i]])
            g = inputs * main[2 * i] + main[2 * i + 1]
            f, ig, o = (1.0 / (1.0 + np.exp(-g[j * b:(j + 1) * b])) for j in range(3))
            ch = np.tanh(g[3 * b:])
            c = cs[i] * f + ig * ch
            tc = np.tanh(c)
            record.append((inputs, cs[i], f, ig, o, ch, tc))
            hs[i], cs[i] = o * tc, c
            x = hs[i]
        tape.append((record, x * extra[1] + extra[2], x))
    dmain = np.zeros_like(main)
    dextra = np.zeros_like(extra)
    dh = [np.zeros(b) for _ in range(n_layers)]
    dc = [np.zeros(b) for _ in range(n_layers)]
    scale = 1.0 / (steps * b)
    for t in reversed(range(steps)):
        record, ypred, top = tape[t]
        dynorm = -sequence[t + 1] * scale
        e = np.exp(ypred - np.max(ypred))
        dypred = dynorm - e / np.sum(e) * np.sum(dynorm)
        dextra[1] += dypred * top
        dextra[2] += dypred
        dx = dypred * extra[1]
        for i in reversed(range(n_layers)):
            inputs, c_prev, f, ig, o, ch, tc = record[i]
            dhi = dh[i] + dx
            dci = dc[i] + dhi * o * (1.0 - tc * tc)
            dg = np.concatenate([dci * c_prev * f * (1.0 - f), dci * ch * ig * (1.0 - ig),
                                 dhi * tc * o * (1.0 - o), dci * ig * (1.0 - ch * ch)])
            dmain[2 * i] += dg * inputs
            dmain[2 * i + 1] += dg
            dinputs = dg * main[2 * i]
            dx = dinputs[:b] + dinputs[2 * b:3 * b]
            dh[i] = dinputs[b:2 * b] + dinputs[3 * b:]
            dc[i] = dci * f
        dextra[0] += dx * sequence[t]
    return dmain, dextra


def _input(n_layers, chars, bits, seed):
    rng = np.random.default_rng(seed)
    text = rng.integers(0, 2, size=(chars, bits)).astype(float)  # characters as bit vectors
    return (rng.random((2 * n_layers, 4 * bits)), rng.random((3, bits)),
            rng.random((2 * n_layers, bits)), text)


def small_input(seed=0):
    return _input(2, 5, 3, seed)


def gradbench_input(seed=0):
    return _input(2, 1024, 14, seed)

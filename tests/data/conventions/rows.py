"""Weights stored as (n_in, n_out), biases as rows (1, n_out), samples as rows: z = x·w + b.

``Network`` is right: the checker judges it transposed and passes it, saying so. ``HiddenBug``
takes σ' of the activation instead of z in the hidden layers: BP2, found behind the convention.
"""

import random

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


class Network(object):
    def __init__(self, sizes):
        self.num_layers = len(sizes)
        self.sizes = sizes
        # one row per input neuron, one column per output neuron
        self.weights = [np.random.randn(a, b) for a, b in zip(sizes[:-1], sizes[1:])]
        self.biases = [np.random.randn(1, b) for b in sizes[1:]]

    def feedforward(self, X):
        for w, b in zip(self.weights, self.biases):
            X = sigmoid(np.dot(X, w) + b)
        return X

    def SGD(self, training_data, epochs, mini_batch_size, eta):
        for j in range(epochs):
            random.shuffle(training_data)
            for k in range(0, len(training_data), mini_batch_size):
                self.update_mini_batch(training_data[k : k + mini_batch_size], eta)

    def update_mini_batch(self, mini_batch, eta):
        X = np.vstack([x for x, y in mini_batch])
        Y = np.vstack([y for x, y in mini_batch])
        nabla_b, nabla_w = self.backprop(X, Y)
        m = len(mini_batch)
        self.weights = [w - (eta / m) * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / m) * nb for b, nb in zip(self.biases, nabla_b)]

    def hidden_prime(self, z, a):
        return sigmoid_prime(z)

    def backprop(self, X, Y):
        """Gradients summed over the rows of X (one sample per row)."""
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        activation = X
        activations = [X]
        zs = []
        for w, b in zip(self.weights, self.biases):
            z = np.dot(activation, w) + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        delta = (activations[-1] - Y) * sigmoid_prime(zs[-1])
        nabla_b[-1] = delta.sum(axis=0, keepdims=True)
        nabla_w[-1] = np.dot(activations[-2].T, delta)
        for l in range(2, self.num_layers):
            delta = np.dot(delta, self.weights[-l + 1].T) * self.hidden_prime(
                zs[-l], activations[-l]
            )
            nabla_b[-l] = delta.sum(axis=0, keepdims=True)
            nabla_w[-l] = np.dot(activations[-l - 1].T, delta)
        return (nabla_b, nabla_w)


class HiddenBug(Network):
    def hidden_prime(self, z, a):
        return sigmoid_prime(a)

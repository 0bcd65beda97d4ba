"""A GAN written as Keras's "Customizing what happens in fit()" guide writes it: its own
`compile(d_optimizer, g_optimizer, loss_fn)` calling `super().compile()`, two optimizers,
its own loss trackers and logs, and a `train_step` that trains both networks. It trains
inside `fit` with the progress bar, on MNIST digits.

The reference is the same two-optimizer step written as a plain torch loop on copies of
the same networks (Lightning-parity style): the losses and weights agree step by step.
"""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lamina
from lamina import layers

LATENT = 16


def _digits(n: int) -> np.ndarray:
    (x, _), _ = lamina.datasets.mnist.load_data()
    return (x[:n].reshape(n, 784) / 255.0).astype("float32")


class GAN(lamina.Model):
    def __init__(self, discriminator, generator, latent_dim, seed=0):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        self.d_loss_tracker = lamina.metrics.Mean(name="d_loss")
        self.g_loss_tracker = lamina.metrics.Mean(name="g_loss")
        self.noise = torch.Generator().manual_seed(seed)
        self.built = True

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def compile(self, d_optimizer, g_optimizer, loss_fn, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn

    def train_step(self, real_images):
        if isinstance(real_images, tuple):
            real_images = real_images[0]
        batch_size = real_images.shape[0]
        # Decode random points of the latent space to fake images, mixed with real ones
        latent = torch.randn(batch_size, self.latent_dim, generator=self.noise)
        generated = self.generator(latent)
        combined = torch.cat([generated, real_images])
        labels = torch.cat([torch.ones(batch_size, 1), torch.zeros(batch_size, 1)])
        labels = labels + 0.05 * torch.rand(labels.shape, generator=self.noise)
        # Train the discriminator
        self.zero_grad()
        d_loss = self.loss_fn(labels, self.discriminator(combined))
        d_loss.backward()
        grads = [v.grad for v in self.discriminator.trainable_weights]
        with torch.no_grad():
            self.d_optimizer.apply(grads, self.discriminator.trainable_weights)
        # Train the generator, with labels that say "all real"
        latent = torch.randn(batch_size, self.latent_dim, generator=self.noise)
        misleading = torch.zeros(batch_size, 1)
        self.zero_grad()
        g_loss = self.loss_fn(misleading, self.discriminator(self.generator(latent)))
        g_loss.backward()
        grads = [v.grad for v in self.generator.trainable_weights]
        with torch.no_grad():
            self.g_optimizer.apply(grads, self.generator.trainable_weights)
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}


def _gan(seed=0):
    lamina.utils.set_random_seed(seed)
    discriminator = lamina.Sequential(
        [layers.Input((784,)), layers.Dense(64), layers.LeakyReLU(0.2), layers.Dense(1)],
        name="discriminator",
    )
    generator = lamina.Sequential(
        [
            layers.Input((LATENT,)),
            layers.Dense(64),
            layers.LeakyReLU(0.2),
            layers.Dense(784, activation="sigmoid"),
        ],
        name="generator",
    )
    gan = GAN(discriminator, generator, LATENT, seed=seed)
    return gan


def _adam():
    return lamina.optimizers.Adam(learning_rate=1e-3, beta_1=0.5, epsilon=1e-8)


def _compile(gan, **kwargs):
    gan.compile(
        d_optimizer=_adam(),
        g_optimizer=_adam(),
        loss_fn=lamina.losses.BinaryCrossentropy(from_logits=True),
        device="cpu",
        **kwargs,
    )


def _torch_reference(gan, images, batch_size, seed=0):
    """The same two-optimizer step as a hand-written torch loop, on copies of the networks."""
    d, g = copy.deepcopy(gan.discriminator), copy.deepcopy(gan.generator)
    d_opt = torch.optim.Adam(d.parameters(), lr=1e-3, betas=(0.5, 0.999), eps=1e-8)
    g_opt = torch.optim.Adam(g.parameters(), lr=1e-3, betas=(0.5, 0.999), eps=1e-8)
    noise = torch.Generator().manual_seed(seed)
    losses = []
    for start in range(0, len(images), batch_size):
        real = torch.from_numpy(images[start : start + batch_size])
        n = real.shape[0]
        fake = g(torch.randn(n, LATENT, generator=noise))
        labels = torch.cat([torch.ones(n, 1), torch.zeros(n, 1)])
        labels = labels + 0.05 * torch.rand(labels.shape, generator=noise)
        d_opt.zero_grad()
        g_opt.zero_grad()
        d_loss = F.binary_cross_entropy_with_logits(d(torch.cat([fake, real])), labels)
        d_loss.backward()
        d_opt.step()
        latent = torch.randn(n, LATENT, generator=noise)
        d_opt.zero_grad()
        g_opt.zero_grad()
        g_loss = F.binary_cross_entropy_with_logits(d(g(latent)), torch.zeros(n, 1))
        g_loss.backward()
        g_opt.step()
        losses.append((d_loss.item(), g_loss.item()))
    return d, g, losses


def test_gan_train_step_matches_a_hand_written_torch_loop():
    images = _digits(160)
    gan = _gan()
    _compile(gan)
    d_ref, g_ref, losses = _torch_reference(gan, images, batch_size=32)

    class PerBatch(lamina.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.logs = []

        def on_train_batch_end(self, batch, logs=None):
            self.logs.append(dict(logs))

    per_batch = PerBatch()
    hist = gan.fit(images, batch_size=32, epochs=1, shuffle=False, verbose=0, callbacks=[per_batch])
    # the trackers' running means after each of the 5 steps
    d_means = np.cumsum([d for d, _ in losses]) / np.arange(1, 6)
    g_means = np.cumsum([g for _, g in losses]) / np.arange(1, 6)
    np.testing.assert_allclose([b["d_loss"] for b in per_batch.logs], d_means, rtol=1e-5)
    np.testing.assert_allclose([b["g_loss"] for b in per_batch.logs], g_means, rtol=1e-5)
    assert hist.history == {"d_loss": [pytest.approx(d_means[-1], rel=1e-5)],
                            "g_loss": [pytest.approx(g_means[-1], rel=1e-5)]}  # fmt: skip
    for ours, ref in ((gan.discriminator, d_ref), (gan.generator, g_ref)):
        for a, b in zip(ours.parameters(), ref.parameters()):
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-5)


def _discriminator_accuracy(gan, images):
    """How often the discriminator scores a real digit above 0.5 and a fake one below."""
    with torch.no_grad():
        real = torch.sigmoid(gan.discriminator(torch.from_numpy(images)))
        latent = torch.randn(len(images), LATENT, generator=torch.Generator().manual_seed(9))
        fake = torch.sigmoid(gan.discriminator(gan.generator(latent)))
    # label 0 is "real" and 1 is "fake" in the guide's labelling
    return 0.5 * (float((real < 0.5).float().mean()) + float((fake > 0.5).float().mean()))


def test_gan_trains_on_mnist_inside_fit_with_a_progress_bar(capsys):
    images = _digits(2048)
    gan = _gan(seed=1)
    _compile(gan)
    before = _discriminator_accuracy(gan, images[:512])
    hist = gan.fit(images, batch_size=64, epochs=2, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "[lamina] jit_compile='auto': eager (a custom train_step)" in out
    # the bar's last line of each epoch shows the GAN's own logs
    finals = re.findall(r"32/32 .*d_loss: (-?[0-9.]+) - g_loss: (-?[0-9.]+)", out)
    assert len(finals) == 2
    for (d_shown, g_shown), d, g in zip(finals, hist.history["d_loss"], hist.history["g_loss"]):
        assert float(d_shown) == pytest.approx(d, abs=1e-4)
        assert float(g_shown) == pytest.approx(g, abs=1e-4)
    assert set(hist.history) == {"d_loss", "g_loss"}
    # the discriminator learned to tell MNIST digits from the generator's images
    assert before < 0.6 and _discriminator_accuracy(gan, images[:512]) > 0.8
    # the two optimizers each stepped once per batch, the compile()'s one never
    assert gan.d_optimizer.iterations.item() == gan.g_optimizer.iterations.item() == 64
    assert gan.optimizer.iterations.item() == 0

"""skae._training.callbacks: the early stopping rule on a history written by
hand, the progress bar, and which callbacks listen to what."""

import pickle
from types import SimpleNamespace

import pytest
import torch
from skorch.callbacks import Callback
from skorch.history import History

from skae._training.callbacks import (
    EarlyStopping,
    EpochProgressBar,
    StopTraining,
    listens_to,
)


def fake_net(verbose=0):
    """What the callbacks read of a net: its history, module and verbosity."""
    return SimpleNamespace(
        history=History(), module_=torch.nn.Linear(1, 1), verbose=verbose
    )


def run_epoch(callback, net, **scores):
    """Record an epoch of ``scores`` (and mark the weights with its number),
    then call the callback's ``on_epoch_end``."""
    net.history.new_epoch()
    epoch = len(net.history)
    net.history.record("epoch", epoch)
    for key, value in scores.items():
        net.history.record(key, value)
    with torch.no_grad():
        net.module_.weight.fill_(epoch)
    callback.on_epoch_end(net)


def stopping_epoch(stopper, net, losses, monitor="valid_loss"):
    """The epoch at which ``stopper`` stops training on ``losses``, or None."""
    stopper.on_train_begin(net)
    for loss in losses:
        try:
            run_epoch(stopper, net, **{monitor: loss})
        except StopTraining:
            return len(net.history)
    return None


def test_stops_after_patience_epochs_without_an_improvement_of_tol():
    stopper = EarlyStopping("valid_loss", patience=2, tol=0.01, sink=lambda _: None)
    net = fake_net()
    # epoch 1 sets 1.0 (to beat: 0.99); 2 improves (to beat: 0.49); 3
    # improves by less than tol; 4 improves (to beat: 0.39); 5 and 6 do not:
    # stop after 6
    losses = [1.0, 0.5, 0.49995, 0.4, 0.45, 0.395, 0.1]
    assert stopping_epoch(stopper, net, losses) == 6
    assert stopper.best_epoch_ == 4
    assert stopper.misses_ == 2


def test_the_threshold_is_absolute():
    # relative to 1000 a decrease of 0.5 is 5e-4; absolutely it beats tol=0.1
    stopper = EarlyStopping("train_loss", patience=1, tol=0.1, sink=lambda _: None)
    net = fake_net()
    losses = [1000.0, 999.5, 999.0, 998.95]
    assert stopping_epoch(stopper, net, losses, "train_loss") == 4
    assert stopper.best_epoch_ == 3


def test_never_stops_while_improving():
    stopper = EarlyStopping("valid_loss", patience=1, tol=0.0, sink=lambda _: None)
    assert stopping_epoch(stopper, fake_net(), [5.0, 4.0, 3.0, 2.0, 1.0]) is None
    assert stopper.best_epoch_ == 5


def test_epochs_without_the_monitored_value_are_skipped():
    stopper = EarlyStopping("valid_loss", patience=1, tol=0.0, sink=lambda _: None)
    net = fake_net()
    stopper.on_train_begin(net)
    run_epoch(stopper, net, valid_loss=1.0)
    # partial_fit's epochs have no validation loss: neither a miss nor a best
    for _ in range(3):
        run_epoch(stopper, net, train_loss=0.5)
    assert stopper.misses_ == 0 and stopper.best_epoch_ == 1
    with pytest.raises(StopTraining):
        run_epoch(stopper, net, valid_loss=2.0)


def test_the_stop_is_a_keyboard_interrupt_the_net_tells_apart():
    assert issubclass(StopTraining, KeyboardInterrupt)
    assert StopTraining is not KeyboardInterrupt


@pytest.mark.parametrize("load_best", [True, False])
def test_load_best_restores_the_best_epochs_weights(load_best):
    stopper = EarlyStopping(
        "valid_loss", patience=2, tol=0.0, load_best=load_best, sink=lambda _: None
    )
    net = fake_net()
    assert stopping_epoch(stopper, net, [3.0, 1.0, 2.0, 2.5]) == 4
    stopper.on_train_end(net)
    # the weights of epoch 2, or those of the last epoch
    assert net.module_.weight.item() == (2.0 if load_best else 4.0)


def test_the_stop_message_goes_to_the_sink():
    messages = []
    stopper = EarlyStopping("valid_loss", patience=1, sink=messages.append)
    net = fake_net(verbose=1)
    assert stopping_epoch(stopper, net, [1.0, 1.0]) == 2
    stopper.on_train_end(net)
    assert messages == [
        "Stopping since valid_loss has not improved in the last 1 epochs.",
        "Restoring best model from epoch 1.",
    ]


# --- the progress bar --------------------------------------------------------------


def test_progress_bar_shows_the_latest_losses(capsys):
    bar = EpochProgressBar()
    net = fake_net()
    bar.on_train_begin(net, epochs=2)
    run_epoch(bar, net, train_loss=0.123456, valid_loss=2.0)
    assert bar.bar_.n == 1
    assert bar.bar_.postfix == "train_loss=0.1235, valid_loss=2"
    run_epoch(bar, net, train_loss=0.0625)
    assert bar.bar_.n == 2
    assert bar.bar_.postfix == "train_loss=0.0625"
    # a bar does not pickle; the callback does, without it
    restored = pickle.loads(pickle.dumps(bar))
    assert not hasattr(restored, "bar_")
    bar.on_train_end(net)
    err = capsys.readouterr().err
    # the bar as it was closed
    assert "2/2" in err and "epoch" in err and "train_loss=0.0625" in err


# --- listeners -----------------------------------------------------------------------


def test_listens_to_tells_overridden_methods_from_skorchs_no_ops():
    class PerBatch(Callback):
        def on_batch_begin(self, net, **kwargs):
            pass

    assert listens_to(PerBatch(), "on_batch_begin")
    assert not listens_to(PerBatch(), "on_batch_end")
    assert not listens_to(Callback(), "on_grad_computed")
    assert listens_to(EpochProgressBar(), "on_epoch_end")

"""skorch callbacks that every skae net uses: early stopping, the epoch
progress bar and the epoch table."""

from skorch.callbacks import Callback, PrintLog
from skorch.callbacks import EarlyStopping as SkorchEarlyStopping


class StopTraining(KeyboardInterrupt):
    """Raised by :class:`EarlyStopping` to end training normally (a subclass of
    ``KeyboardInterrupt``, which skorch's own loop treats as a stop)."""


class EarlyStopping(SkorchEarlyStopping):
    """skorch's ``EarlyStopping`` with an absolute threshold (scikit-learn's
    ``tol``), two differences aside: an epoch that lacks the monitored
    value is skipped (``partial_fit`` has no validation loss), and the stop
    is a :class:`StopTraining`, which the net tells apart from a user's
    interrupt.

    Parameters
    ----------
    monitor : str, default="valid_loss"
        The history key to watch; lower is better.
    patience : int, default=10
        Epochs without improvement before stopping.
    tol : float, default=1e-4
        The least decrease that counts as an improvement.
    load_best : bool, default=True
        Load the module weights of the best epoch when training ends.
    sink : callable, default=print
        Where the stop message goes, when the net is verbose.
    """

    def __init__(
        self, monitor="valid_loss", patience=10, tol=1e-4, load_best=True, sink=print
    ):
        super().__init__(
            monitor=monitor,
            patience=patience,
            threshold=tol,
            threshold_mode="abs",
            sink=sink,
            load_best=load_best,
        )

    def on_epoch_end(self, net, **kwargs):
        if self.monitor not in net.history[-1]:
            return
        try:
            super().on_epoch_end(net, **kwargs)
        except KeyboardInterrupt:
            raise StopTraining from None


class EpochProgressBar(Callback):
    """A tqdm bar over epochs showing the latest training and validation loss,
    the way Keras users expect from ``verbose=1``."""

    def on_train_begin(self, net, epochs=None, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(total=epochs, unit="epoch", leave=True)

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        self.bar_.set_postfix(
            {k: f"{row[k]:.4g}" for k in ("train_loss", "valid_loss") if k in row},
            refresh=False,
        )
        self.bar_.update(1)

    def on_train_end(self, net, **kwargs):
        self.bar_.close()

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("bar_", None)
        return state


class QuietPrintLog(PrintLog):
    """skorch's ``PrintLog`` (the table of ``verbose=2``), which builds no
    table when it prints none: skorch's formats every epoch's row with
    ``tabulate`` even when the net is silent, a millisecond or more a fit
    that prints nothing."""

    def on_epoch_end(self, net, **kwargs):
        if self.sink is print and not net.verbose:
            return
        super().on_epoch_end(net, **kwargs)


def listens_to(callback, method):
    """Whether ``callback`` implements ``method`` (a per-batch method, say)
    rather than inheriting skorch's no-op."""
    return getattr(type(callback), method) is not getattr(Callback, method)

"""A tqdm progress bar fed by a service's ``progress(fraction, message)`` callback."""

from contextlib import contextmanager

from tqdm import tqdm


@contextmanager
def progress_bar(command, *, desc: str, disable: bool = False):
    bar = tqdm(
        total=100,
        desc=desc,
        disable=disable,
        file=command.stderr._out,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining} {postfix}",
    )

    def progress(fraction: float, message: str = "") -> None:
        bar.n = round(max(0.0, min(1.0, fraction)) * 100)
        bar.set_postfix_str(message[:60], refresh=True)

    try:
        yield progress
    finally:
        bar.close()

"""What maintainers run, apart from what the notebooks import (``dl101``); no notebook imports it.

- ``run_notebooks``: execute notebooks headless (``make run``, ``make outputs``);
  ``notebook_outputs``: clean and stamp an executed notebook before it is committed.
- ``results_section``, ``results_archive``: publish the README's Results and ``results/full/``.
- ``seed_study``, ``seed_study_report``: train every run over several seeds, write its page.
- ``hosted``: the "Open in Colab/Kaggle" badges and first cells, from the repository's address.
- ``benchmark``: training speed on this machine, printed as figures.
"""

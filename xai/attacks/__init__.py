"""Adversarial comparisons.

- :mod:`xai.attacks.waveform`    FGSM, PGD (sign-Adam), C&W on the waveform; SNR; white-noise control
- :mod:`xai.attacks.notes`       few whole-note edits that change a score model's answer
- :mod:`xai.attacks.robustness`  robustness of black-box vs interpretable vs adversarially trained models
- :mod:`xai.attacks.veracity`    does LIME find a planted perturbation? (after Praher, Prinz et al. 2021)
"""

"""Adversarial comparisons.

- :mod:`xai.attacks.waveform`    FGSM, PGD (sign-Adam), C&W (least distortion, constant searched); SNR; noise control
- :mod:`xai.attacks.notes`       few whole-note edits that change a score model's answer
- :mod:`xai.attacks.robustness`  robustness of black-box vs interpretable vs adversarially trained models
- :mod:`xai.attacks.veracity`    does LIME find the perturbation? whole input, planted, decoy (Praher, Prinz et al.)
"""

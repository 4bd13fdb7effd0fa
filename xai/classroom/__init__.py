"""Classroom tools.

- :mod:`xai.classroom.share`        share links: a view's settings as a signed, versioned, validated token
- :mod:`xai.classroom.presets`      class presets a teacher saves and students open
- :mod:`xai.classroom.label_noise`  the label-noise lab: corrupted labels, the small model, accuracy curves
"""

"""speech-dispatcher output module `fasttts`: the system's voice (Orca, browsers' speechSynthesis, Okular...)
spoken by a resident engine. `module.py` speaks speech-dispatcher's module protocol on stdin/stdout,
`ssml.py` reads the SSML it sends, `voices.py` maps its voices, languages and rate/pitch/volume to ours, and
`install.py` adds the module to the user's speech-dispatcher configuration (and takes it out again).
No Qt here.
"""

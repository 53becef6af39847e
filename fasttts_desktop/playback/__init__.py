"""Playback without Qt: the PortAudio stream of one utterance (audio_output), opening the output device
(sound_stream) and the outputs there are (output_devices). worker/player.py drives it from the GUI thread."""

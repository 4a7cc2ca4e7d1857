"""Pictures in motion: video files and the webcam, through any one-pass model."""

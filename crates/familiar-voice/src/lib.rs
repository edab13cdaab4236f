//! Familiar's voice: audio files in and out (`audio`), speech to text with
//! whisper.cpp (`stt`), the default voice on ONNX Runtime (`tts`), and the conversion of the registry-shipped Whisper
//! model from CTranslate2's format to whisper.cpp's (`ct2`, `convert`).

pub mod audio;
pub mod convert;
pub mod ct2;
pub mod devices;
pub mod stt;
pub mod tts;
pub mod vad;

pub use audio::{Audio, AudioError};
pub use stt::{Segment, SttError, SttOptions, Transcriber, Transcript};
pub use tts::{Piper, Prosody, TtsError};

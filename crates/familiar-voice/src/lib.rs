//! Familiar's voice: audio files in and out (`audio`), sound devices
//! (`devices`, `simulated`), voice activity (`vad`), speech to text with
//! whisper.cpp (`stt`), the default voice on ONNX Runtime (`tts`), the cloned
//! voice (`clone`), speaker fingerprints (`speaker`) and the checks of a
//! reference recording (`reference`), and the conversion of the
//! registry-shipped Whisper model from CTranslate2's format to whisper.cpp's
//! (`ct2`, `convert`).

pub mod audio;
pub mod clone;
pub mod convert;
pub mod ct2;
pub mod devices;
mod ge2e;
mod prosody;
pub mod reference;
pub mod simulated;
pub mod speaker;
pub mod stt;
pub mod torch_legacy;
pub mod tts;
pub mod vad;

pub use audio::{Audio, AudioError};
pub use stt::{Segment, SttError, SttOptions, Transcriber, Transcript};
pub use tts::{Piper, Prosody, TtsError, Voice};

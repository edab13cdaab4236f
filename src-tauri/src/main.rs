//! The desktop studio's entry point.
// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    software_rendering_without_compositing();
    familiar_desktop::run();
}

/// On Linux without a GPU render node (a VM, a remote or virtual display),
/// WebKitGTK would composite the page through software OpenGL, which delays
/// the first paint and takes memory (`make bench` under Xvfb: 602 → 433 ms,
/// 336 → 253 MiB); painting without compositing is faster there. A user's own
/// setting wins (the end-to-end journeys set `0`: WebDriver screenshots hung).
/// WebKit reads only its environment for this, hence the one `set_var`.
#[allow(unsafe_code)]
fn software_rendering_without_compositing() {
    #[cfg(target_os = "linux")]
    {
        const VAR: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";
        let render_node = std::fs::read_dir("/dev/dri")
            .map(|dir| dir.flatten().any(|e| e.file_name().to_string_lossy().starts_with("renderD")))
            .unwrap_or(false);
        if !render_node && std::env::var_os(VAR).is_none() {
            // SAFETY: the first thing main does, before any other thread exists.
            unsafe { std::env::set_var(VAR, "1") };
        }
    }
}

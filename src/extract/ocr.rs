//! OCR of a PDF without a text layer (a scan): each page rendered by pdftoppm and read by
//! tesseract, both run as programs when installed. Used by the harvest for theses whose PDFs
//! are scans; uploads are never OCR'd.

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// Whether tesseract and pdftoppm are installed (Debian: tesseract-ocr, poppler-utils).
pub fn available() -> bool {
    on_path("tesseract") && on_path("pdftoppm")
}

/// Renders each page with pdftoppm (300 dpi) and reads it with tesseract.
pub fn read_pdf(bytes: &[u8]) -> Result<String, String> {
    use std::process::Command;
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "hamlet-ocr-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let run = || -> Result<String, String> {
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let pdf = dir.join("in.pdf");
        std::fs::write(&pdf, bytes).map_err(|e| e.to_string())?;
        let status = Command::new("pdftoppm")
            .args(["-r", "300", "-gray", "-png"])
            .arg(&pdf)
            .arg(dir.join("page"))
            .status()
            .map_err(|e| format!("pdftoppm: {e}"))?;
        if !status.success() {
            return Err(format!("pdftoppm could not render the PDF ({status})"));
        }
        let mut pages: Vec<_> = std::fs::read_dir(&dir)
            .map_err(|e| e.to_string())?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "png"))
            .collect();
        pages.sort();
        let mut text = String::new();
        for page in pages {
            let out = Command::new("tesseract")
                .arg(&page)
                .arg("-")
                .output()
                .map_err(|e| format!("tesseract: {e}"))?;
            text.push_str(&String::from_utf8_lossy(&out.stdout));
            text.push('\n');
        }
        if text.chars().any(char::is_alphanumeric) {
            Ok(text)
        } else {
            Err("OCR found no text in the PDF".into())
        }
    };
    let result = run();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

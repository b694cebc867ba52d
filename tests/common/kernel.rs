//! Shared by the tests that need the kernel: whether `bpf()` works here.
//!
//! Include with `#[path = "common/kernel.rs"] mod kernel;` and start each kernel test with
//! `if !kernel::kernel_available("name") { return; }`; a test that loads objects pinning maps
//! by name pins them in a `PinDir`.

/// True when `bpf()` works for this process. Otherwise: when `BPFIR_REQUIRE_KERNEL=1`
/// panics with the reason (the test must fail where the kernel is required), else prints
/// `skipping {test}: bpf() not permitted here ({reason})` and returns false.
#[allow(dead_code)]
pub fn kernel_available(test: &str) -> bool {
    let reason = match bpfir::sys::probe() {
        Ok(()) => return true,
        Err(err) => err.to_string(),
    };
    if std::env::var("BPFIR_REQUIRE_KERNEL").is_ok_and(|v| v == "1") {
        panic!("{test}: BPFIR_REQUIRE_KERNEL=1 but bpf() does not work here ({reason})");
    }
    eprintln!("skipping {test}: bpf() not permitted here ({reason})");
    false
}

/// Asserts that every program of `loaded` the kernel took has the tag bpfir computes
/// offline from its lowered instructions (`LoweredProgram::tag`); returns how many were
/// compared. Programs that leave CO-RE records to the kernel are left out: the kernel
/// patches their instructions before it hashes them.
#[allow(dead_code)]
pub fn check_offline_tags(what: &str, loaded: &bpfir::load::Loaded) -> usize {
    let mut n = 0;
    for p in &loaded.programs {
        let Ok(lp) = &p.result else { continue };
        let lowered = p
            .lowered
            .as_ref()
            .unwrap_or_else(|| panic!("{what} {}: loaded but no lowered program", p.name));
        if !lowered.core_relos.is_empty() {
            continue;
        }
        assert_eq!(
            lowered.tag_hex(),
            lp.tag,
            "{what} {}: offline tag differs from the kernel's",
            p.name
        );
        n += 1;
    }
    eprintln!("{what}: {n} offline program tags equal the kernel's");
    n
}

/// Loads `m` as object `name` (every program must load), checks the offline tags, runs each
/// program once on a 64-byte zero packet and returns its return value by program name.
#[allow(dead_code)]
pub fn load_and_run_all(
    m: &bpfir::ir::Module,
    name: &str,
) -> std::collections::BTreeMap<String, u32> {
    let opts = bpfir::load::LoadOptions {
        object_name: name.into(),
        ..bpfir::load::LoadOptions::default()
    };
    let loaded = bpfir::load::load(m, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
    check_offline_tags(name, &loaded);
    loaded
        .programs
        .iter()
        .map(|p| {
            let lp = p
                .result
                .as_ref()
                .unwrap_or_else(|e| panic!("{name} {}: {e}", p.name));
            (p.name.clone(), lp.run_zero_packet(64).unwrap().retval)
        })
        .collect()
}

/// A directory in a bpf filesystem for one test's maps pinned by name, removed when dropped.
///
/// It is under `/sys/fs/bpf` when a bpf filesystem is mounted there; otherwise a private
/// bpf filesystem is mounted on a temporary directory for the test (and unmounted when
/// dropped), so the tests run on a machine that has not mounted one.
#[allow(dead_code)]
pub struct PinDir {
    path: std::path::PathBuf,
    mounted: bool,
}

#[allow(dead_code)]
impl PinDir {
    /// The directory for `test`; `None` (with a printed note) when no bpf filesystem can be
    /// had here, a panic instead under `BPFIR_REQUIRE_KERNEL=1`.
    pub fn new(test: &str) -> Option<PinDir> {
        let tag: String = test
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let leaf = format!("bpfir-test-{}-{tag}", std::process::id());
        let reason = if bpffs_at_sys_fs_bpf() {
            let path = std::path::Path::new("/sys/fs/bpf").join(&leaf);
            match std::fs::create_dir_all(&path) {
                Ok(()) => {
                    return Some(PinDir {
                        path,
                        mounted: false,
                    })
                }
                Err(e) => format!("{}: {e}", path.display()),
            }
        } else {
            let path = std::env::temp_dir().join(&leaf);
            let mounted = std::fs::create_dir_all(&path).and_then(|()| {
                std::process::Command::new("mount")
                    .args(["-t", "bpf", "bpf"])
                    .arg(&path)
                    .stderr(std::process::Stdio::null())
                    .status()
            });
            match mounted {
                Ok(status) if status.success() => {
                    return Some(PinDir {
                        path,
                        mounted: true,
                    })
                }
                Ok(status) => {
                    let _ = std::fs::remove_dir(&path);
                    format!(
                        "no bpf filesystem at /sys/fs/bpf and `mount -t bpf` on {} {status}",
                        path.display()
                    )
                }
                Err(e) => format!("no bpf filesystem at /sys/fs/bpf and no mount of one: {e}"),
            }
        };
        if std::env::var("BPFIR_REQUIRE_KERNEL").is_ok_and(|v| v == "1") {
            panic!("{test}: BPFIR_REQUIRE_KERNEL=1 but maps cannot be pinned here ({reason})");
        }
        eprintln!("skipping {test}: maps cannot be pinned here ({reason})");
        None
    }

    /// The directory.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// A subdirectory `name` of it, made now (one object's pins apart from another's).
    pub fn subdir(&self, name: &str) -> std::path::PathBuf {
        let dir = self.path.join(name);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        dir
    }
}

impl Drop for PinDir {
    fn drop(&mut self) {
        if self.mounted {
            // Unmounting drops the instance with every pin in it.
            let _ = std::process::Command::new("umount")
                .arg(&self.path)
                .status();
            let _ = std::fs::remove_dir(&self.path);
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Whether a bpf filesystem is mounted at `/sys/fs/bpf`.
fn bpffs_at_sys_fs_bpf() -> bool {
    std::fs::read_to_string("/proc/mounts").is_ok_and(|mounts| {
        mounts.lines().any(|line| {
            let mut fields = line.split_whitespace().skip(1);
            fields.next() == Some("/sys/fs/bpf") && fields.next() == Some("bpf")
        })
    })
}

//! Values of `.kconfig` externs: the running kernel's configuration and version, and the
//! layout of the `.kconfig` map that holds them.
//!
//! A program declares `extern int CONFIG_HZ __kconfig;` and reads it from a read-only,
//! single-entry array map the loader fills. Values come from `/proc/config.gz` (or
//! `/boot/config-$(uname -r)`), plus the loader-defined `LINUX_KERNEL_VERSION` (from
//! `uname`), `LINUX_HAS_BPF_COOKIE` and `LINUX_HAS_SYSCALL_WRAPPER` (probed by the caller).
//! `y`/`m`/`n` become 1/2/0 (libbpf's tristate), numbers are stored in the variable's
//! size, quoted strings as NUL-padded chars. A missing value is an error unless the extern
//! is weak, in which case it reads as zero.

use std::collections::HashMap;
use std::io::Read;

/// One `CONFIG_*` value as the configuration file states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KconfigValue {
    /// `=y`.
    Yes,
    /// `=m`.
    Module,
    /// `# CONFIG_X is not set` or `=n`.
    No,
    /// A number (decimal, or hex with `0x`).
    Number(i128),
    /// A quoted string, unescaped.
    Str(String),
}

/// A kernel configuration: `CONFIG_*` name → value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelConfig {
    values: HashMap<String, KconfigValue>,
}

impl KernelConfig {
    /// Parses the text of a `.config` file. Lines that are not assignments or "is not set"
    /// comments are ignored.
    pub fn parse(text: &str) -> KernelConfig {
        let mut values = HashMap::new();
        for line in text.lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("# ") {
                if let Some(name) = rest.strip_suffix(" is not set") {
                    values.insert(name.to_string(), KconfigValue::No);
                }
                continue;
            }
            let Some((name, value)) = line.split_once('=') else {
                continue;
            };
            if !name.starts_with("CONFIG_") {
                continue;
            }
            let value = match value {
                "y" => KconfigValue::Yes,
                "m" => KconfigValue::Module,
                "n" => KconfigValue::No,
                v if v.starts_with('"') && v.ends_with('"') && v.len() >= 2 => {
                    KconfigValue::Str(unescape(&v[1..v.len() - 1]))
                }
                v => match parse_number(v) {
                    Some(n) => KconfigValue::Number(n),
                    None => continue,
                },
            };
            values.insert(name.to_string(), value);
        }
        KernelConfig { values }
    }

    /// The running kernel's configuration, from `/proc/config.gz` or
    /// `/boot/config-<release>`.
    pub fn from_system() -> std::io::Result<KernelConfig> {
        if let Ok(gz) = std::fs::read("/proc/config.gz") {
            let mut text = String::new();
            flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut text)?;
            return Ok(KernelConfig::parse(&text));
        }
        let release = kernel_release()?;
        let text = std::fs::read_to_string(format!("/boot/config-{release}"))?;
        Ok(KernelConfig::parse(&text))
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&KconfigValue> {
        self.values.get(name)
    }

    /// Sets a value (for the loader-defined `LINUX_*` names, or tests).
    pub fn set(&mut self, name: &str, value: KconfigValue) {
        self.values.insert(name.to_string(), value);
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn parse_number(v: &str) -> Option<i128> {
    let (neg, digits) = match v.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, v),
    };
    let n = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => i128::from_str_radix(hex, 16).ok()?,
        None => digits.parse::<i128>().ok()?,
    };
    Some(if neg { -n } else { n })
}

/// The running kernel's release string (`uname -r`).
pub fn kernel_release() -> std::io::Result<String> {
    Ok(std::fs::read_to_string("/proc/sys/kernel/osrelease")?
        .trim()
        .to_string())
}

/// `KERNEL_VERSION(a, b, c)` of a release string such as `6.18.44-fc-v782`, as
/// `LINUX_KERNEL_VERSION` holds it (the patch level saturates at 255).
pub fn kernel_version_code(release: &str) -> Option<u32> {
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u32>().ok());
    let a = parts.next()??;
    let b = parts.next().flatten().unwrap_or(0);
    let c = parts.next().flatten().unwrap_or(0);
    Some((a << 16) | (b.min(255) << 8) | c.min(255))
}

/// Encodes `value` into a variable of `size` bytes in byte order `endian`: `is_char_array`
/// for `char[N]` variables (strings), otherwise an integer, bool or tristate.
pub fn encode_value(
    value: &KconfigValue,
    size: usize,
    is_char_array: bool,
    endian: crate::Endian,
) -> Result<Vec<u8>, String> {
    let mut out = vec![0u8; size];
    let int = match (value, is_char_array) {
        (KconfigValue::Str(s), true) => {
            // A string longer than the array is cut to the array (without a NUL when it
            // fills it), as cilium/ebpf does; a `char[1]` then still holds the first
            // character, which is what programs testing `CONFIG_X[0]` expect. (libbpf keeps
            // a NUL and so leaves `char[1]` empty.)
            let n = s.len().min(size);
            out[..n].copy_from_slice(&s.as_bytes()[..n]);
            return Ok(out);
        }
        (_, true) => return Err("a char array needs a string value".into()),
        (KconfigValue::Yes, _) => 1,
        (KconfigValue::Module, _) => 2,
        (KconfigValue::No, _) => 0,
        (KconfigValue::Number(n), _) => *n,
        (KconfigValue::Str(_), false) => return Err("a string value needs a char array".into()),
    };
    let bytes = match endian {
        crate::Endian::Little => (int as u64).to_le_bytes(),
        crate::Endian::Big => (int as u64).to_be_bytes(),
    };
    match size {
        1 | 2 | 4 | 8 => {
            let fits =
                size == 8 || (int >= -(1i128 << (8 * size - 1)) && int < (1i128 << (8 * size)));
            if !fits {
                return Err(format!("value {int} does not fit {size} bytes"));
            }
            match endian {
                crate::Endian::Little => out.copy_from_slice(&bytes[..size]),
                crate::Endian::Big => out.copy_from_slice(&bytes[8 - size..]),
            }
            Ok(out)
        }
        _ => Err(format!(
            "unsupported size {size} for an integer kconfig value"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Endian;

    #[test]
    fn parses_a_config_file() {
        let c = KernelConfig::parse(
            "#\n# CONFIG_FOO is not set\nCONFIG_BPF=y\nCONFIG_EXT4_FS=m\nCONFIG_HZ=250\n\
             CONFIG_BASE=0x10\nCONFIG_DEFAULT_HOSTNAME=\"(no\\\"ne)\"\nCONFIG_NEG=-3\nnoise\n",
        );
        assert_eq!(c.get("CONFIG_FOO"), Some(&KconfigValue::No));
        assert_eq!(c.get("CONFIG_BPF"), Some(&KconfigValue::Yes));
        assert_eq!(c.get("CONFIG_EXT4_FS"), Some(&KconfigValue::Module));
        assert_eq!(c.get("CONFIG_HZ"), Some(&KconfigValue::Number(250)));
        assert_eq!(c.get("CONFIG_BASE"), Some(&KconfigValue::Number(16)));
        assert_eq!(c.get("CONFIG_NEG"), Some(&KconfigValue::Number(-3)));
        assert_eq!(
            c.get("CONFIG_DEFAULT_HOSTNAME"),
            Some(&KconfigValue::Str("(no\"ne)".into()))
        );
    }

    #[test]
    fn version_codes() {
        assert_eq!(kernel_version_code("6.18.44-fc-v782"), Some(0x06122c));
        assert_eq!(kernel_version_code("5.4.300"), Some(0x0504ff));
        assert_eq!(kernel_version_code("6.1"), Some(0x060100));
        assert_eq!(kernel_version_code("abc"), None);
    }

    #[test]
    fn encodes_values_by_size_and_order() {
        assert_eq!(
            encode_value(&KconfigValue::Number(250), 4, false, Endian::Little).unwrap(),
            [250, 0, 0, 0]
        );
        assert_eq!(
            encode_value(&KconfigValue::Number(250), 4, false, Endian::Big).unwrap(),
            [0, 0, 0, 250]
        );
        assert_eq!(
            encode_value(&KconfigValue::Module, 1, false, Endian::Little).unwrap(),
            [2]
        );
        assert_eq!(
            encode_value(&KconfigValue::Str("ab".into()), 4, true, Endian::Little).unwrap(),
            b"ab\0\0"
        );
        assert!(encode_value(&KconfigValue::Number(300), 1, false, Endian::Little).is_err());
        assert_eq!(
            encode_value(&KconfigValue::Str("abcd".into()), 4, true, Endian::Little).unwrap(),
            b"abcd"
        );
        assert_eq!(
            encode_value(&KconfigValue::Str("abcd".into()), 1, true, Endian::Little).unwrap(),
            b"a"
        );
    }

    #[test]
    fn the_running_kernel_has_a_config_or_says_why_not() {
        match KernelConfig::from_system() {
            Ok(c) => assert!(c.get("CONFIG_BPF").is_some()),
            Err(e) => eprintln!("no kernel config here: {e}"),
        }
    }
}

//! Where the model runs: WebGPU/Vulkan/Metal through burn's `wgpu` backend, or burn's CPU
//! backend (`flex`) where no GPU adapter is offered.

use burn::tensor::Device;
use std::fmt;
use std::str::FromStr;

/// The two kinds of device Patchbay runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// burn's pure-Rust CPU backend.
    Cpu,
    /// burn's wgpu backend (WebGPU in browsers; Vulkan, Metal or DX12 natively).
    Wgpu,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cpu => "cpu",
            Self::Wgpu => "wgpu",
        })
    }
}

impl FromStr for Backend {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cpu" => Ok(Self::Cpu),
            "wgpu" | "gpu" | "webgpu" | "vulkan" => Ok(Self::Wgpu),
            _ => Err(format!("unknown device `{s}`: use `cpu` or `wgpu`")),
        }
    }
}

/// The CPU device.
pub fn cpu() -> Device {
    Device::flex()
}

/// The default wgpu adapter, or why there is none. The runtime is initialised once per
/// process; later calls return the same device.
#[cfg(all(not(target_arch = "wasm32"), feature = "gpu"))]
pub fn wgpu() -> Result<Device, String> {
    static WGPU: std::sync::OnceLock<Result<Device, String>> = std::sync::OnceLock::new();
    WGPU.get_or_init(|| {
        Device::wgpu_options().init().map_err(|e| {
            format!("no usable GPU adapter for wgpu ({e}); on Linux without a GPU, install Mesa's lavapipe (mesa-vulkan-drivers)")
        })
    })
    .clone()
}

/// A build without the `gpu` feature (the fuzz targets') has no GPU backend.
#[cfg(all(not(target_arch = "wasm32"), not(feature = "gpu")))]
pub fn wgpu() -> Result<Device, String> {
    Err("this build of Patchbay has no GPU backend (built without the `gpu` feature)".into())
}

/// A device of the requested kind.
#[cfg(not(target_arch = "wasm32"))]
pub fn open(backend: Backend) -> Result<Device, String> {
    match backend {
        Backend::Cpu => Ok(cpu()),
        Backend::Wgpu => wgpu(),
    }
}

/// WebGPU when the browser offers an adapter, else the CPU backend with the reason.
#[cfg(all(target_arch = "wasm32", feature = "gpu"))]
pub async fn browser() -> (Device, Backend, Option<String>) {
    match Device::wgpu_options().init_async().await {
        Ok(device) => (device, Backend::Wgpu, None),
        Err(e) => (
            cpu(),
            Backend::Cpu,
            Some(format!("WebGPU is not available ({e}); running on the CPU")),
        ),
    }
}

/// A build without the `gpu` feature runs on the CPU backend.
#[cfg(all(target_arch = "wasm32", not(feature = "gpu")))]
pub async fn browser() -> (Device, Backend, Option<String>) {
    (
        cpu(),
        Backend::Cpu,
        Some("this build has no GPU backend".into()),
    )
}

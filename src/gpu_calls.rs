//! What a run asks of the GPU, counted: the kernels CubeCL launches (each one compute dispatch),
//! natively and in the browser, through CubeCL's launch observer; and in a browser the WebGPU
//! calls themselves — dispatches, pipelines created, buffer writes and read-backs, submits —
//! counted by wrappers on WebGPU's prototypes (`src/ui/gpu.js`). `bench/browser.mjs` injects
//! the same wrappers into transformers.js's page, so both libraries are counted by one code.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The GPU work of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuCalls {
    /// Kernels launched through CubeCL (burn's GPU backends).
    pub kernel_launches: u64,
    /// The same launches by kernel, named by [`kernel_name`].
    pub kernels: BTreeMap<String, u64>,
    /// The WebGPU API calls (in a browser).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webgpu: Option<WebGpuCalls>,
}

/// WebGPU API calls, by what they do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebGpuCalls {
    /// `dispatchWorkgroups` (and its indirect form).
    pub dispatches: u64,
    /// `createComputePipeline` (and its async form): a kernel compiled for the device.
    pub pipelines: u64,
    pub bind_groups: u64,
    /// `createBuffer`.
    pub buffers: u64,
    /// `queue.writeBuffer`: uploads, and the bytes they carried.
    pub writes: u64,
    pub written_bytes: u64,
    /// `buffer.mapAsync`: read-backs to the host.
    pub reads: u64,
    /// `copyBufferToBuffer`.
    pub copies: u64,
    /// `queue.submit`.
    pub submits: u64,
}

impl WebGpuCalls {
    fn since(self, before: Self) -> Self {
        Self {
            dispatches: self.dispatches - before.dispatches,
            pipelines: self.pipelines - before.pipelines,
            bind_groups: self.bind_groups - before.bind_groups,
            buffers: self.buffers - before.buffers,
            writes: self.writes - before.writes,
            written_bytes: self.written_bytes - before.written_bytes,
            reads: self.reads - before.reads,
            copies: self.copies - before.copies,
            submits: self.submits - before.submits,
        }
    }
}

/// Counts the GPU calls this thread makes from its start to [`Counting::finish`]. CubeCL has one
/// launch observer per process, so countings on other threads wait for this one to finish; on
/// one thread they must not overlap (the browser's worker runs one benchmark at a time).
pub struct Counting {
    #[cfg(feature = "gpu")]
    launches: std::sync::Arc<launches::Counter>,
    #[cfg(feature = "gpu")]
    _observation: cubecl_runtime::logging::LaunchObservation,
    #[cfg(feature = "gpu")]
    _alone: std::sync::MutexGuard<'static, ()>,
    webgpu_before: Option<WebGpuCalls>,
}

impl Counting {
    pub fn start() -> Self {
        #[cfg(feature = "gpu")]
        let (alone, launches) = {
            static OBSERVER: std::sync::Mutex<()> = std::sync::Mutex::new(());
            let alone = OBSERVER.lock().unwrap_or_else(|e| e.into_inner());
            (
                alone,
                std::sync::Arc::new(launches::Counter::on_this_thread()),
            )
        };
        Self {
            #[cfg(feature = "gpu")]
            _observation: cubecl_runtime::logging::LaunchObservation::new(launches.clone()),
            #[cfg(feature = "gpu")]
            launches,
            #[cfg(feature = "gpu")]
            _alone: alone,
            webgpu_before: webgpu::so_far(),
        }
    }

    pub fn finish(self) -> GpuCalls {
        #[cfg(feature = "gpu")]
        let kernels = self.launches.take();
        #[cfg(not(feature = "gpu"))]
        let kernels = BTreeMap::new();
        GpuCalls {
            kernel_launches: kernels.values().sum(),
            kernels,
            webgpu: webgpu::so_far()
                .zip(self.webgpu_before)
                .map(|(now, before)| now.since(before)),
        }
    }
}

/// A kernel's type name without its module paths, its generic arguments after the first
/// shortened to `…`: `KernelBinop<AddOp>`, `MatmulEntry<TensorArgs, …>`.
pub fn kernel_name(type_name: &str) -> String {
    let mut short = String::with_capacity(type_name.len());
    let mut segment = String::new();
    for c in type_name.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            segment.push(c);
        } else {
            short.push_str(segment.rsplit("::").next().unwrap_or(""));
            segment.clear();
            short.push(c);
        }
    }
    short.push_str(segment.rsplit("::").next().unwrap_or(""));
    match (short.find('<'), short.find(", ")) {
        (Some(open), Some(comma)) if comma > open => format!("{}, …>", &short[..comma]),
        _ => short,
    }
}

#[cfg(feature = "gpu")]
mod launches {
    use std::collections::BTreeMap;
    use std::sync::Mutex;
    use std::thread::ThreadId;

    /// Launches by kernel, of one thread (CubeCL calls the observer on the launching thread).
    pub struct Counter {
        thread: ThreadId,
        counts: Mutex<BTreeMap<&'static str, u64>>,
    }

    impl Counter {
        pub fn on_this_thread() -> Self {
            Self {
                thread: std::thread::current().id(),
                counts: Mutex::default(),
            }
        }

        pub fn take(&self) -> BTreeMap<String, u64> {
            let counts =
                std::mem::take(&mut *self.counts.lock().unwrap_or_else(|e| e.into_inner()));
            let mut named = BTreeMap::new();
            for (kernel, n) in counts {
                *named.entry(super::kernel_name(kernel)).or_default() += n;
            }
            named
        }
    }

    impl cubecl_runtime::logging::LaunchObserver for Counter {
        fn launched(&self, kernel: &'static str) {
            if std::thread::current().id() != self.thread {
                return;
            }
            *self
                .counts
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(kernel)
                .or_default() += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::kernel_name;

    #[test]
    fn kernel_names_lose_their_paths_and_all_but_one_generic_argument() {
        assert_eq!(
            kernel_name(
                "burn_cubecl::kernel::binary::kernel_binop::KernelBinop<burn_cubecl::kernel::binary::AddOp>"
            ),
            "KernelBinop<AddOp>"
        );
        assert_eq!(
            kernel_name(
                "cubek_matmul::matmul_entry::MatmulEntry<cubek_matmul::args::TensorArgs, cubecl_core::DynamicScalar<cubek_matmul::__Lhs>>"
            ),
            "MatmulEntry<TensorArgs, …>"
        );
        assert_eq!(
            kernel_name("cubecl_std::tensor::copy_kernel::CopyKernel"),
            "CopyKernel"
        );
    }
}

#[cfg(target_arch = "wasm32")]
mod webgpu {
    use super::WebGpuCalls;
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(module = "/src/ui/gpu.js")]
    extern "C" {
        #[wasm_bindgen(js_name = gpuCalls)]
        fn gpu_calls() -> String;
    }

    /// The WebGPU calls this thread has made, where WebGPU is counted.
    pub fn so_far() -> Option<WebGpuCalls> {
        serde_json::from_str(&gpu_calls()).ok()
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod webgpu {
    /// Natively wgpu is called from Rust: only CubeCL's launches are counted.
    pub fn so_far() -> Option<super::WebGpuCalls> {
        None
    }
}

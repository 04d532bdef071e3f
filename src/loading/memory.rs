//! How much memory a model needs before any weight is downloaded, and whether it fits.
//!
//! The weights stream in (`WeightStream`): the file is never held whole. On the CPU backend
//! the f32 parameters live in the worker's WebAssembly memory (at most 4 GiB on wasm32), filled
//! tensor by tensor in place; on WebGPU they go to the GPU in blocks of [`STREAM_BLOCK`], so
//! the WebAssembly memory holds one block, and the largest single tensor must fit one buffer
//! binding.

use crate::model::Gpt2Config;
use std::fmt;

/// A browser tab's WebAssembly memory: 65536 pages of 64 KiB.
pub const WASM32_MEMORY: u64 = 4 << 30;

/// Room kept free in wasm memory for the tokenizer, activations and the allocator's slack.
const WORKING_MARGIN: u64 = 384 << 20;

/// Bytes of f32 values uploaded to a GPU at a time while the weights stream in: each block's
/// write and its copy into its tensor is one run of GPU work, which a software GPU (SwiftShader)
/// does on the CPU beside the page's compositor, so a block is kept small enough not to hold up
/// the page's frames (BENCHMARKS.md, SAE features: 16 MiB blocks held one up 150 ms).
pub const STREAM_BLOCK: u64 = 4 << 20;

/// What loading a model costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryEstimate {
    pub parameters: u64,
    /// Size of `model.safetensors` (known from the hub or the server, else assumed fp32).
    pub weights_file: u64,
    /// The f32 parameters on the device.
    pub parameter_bytes: u64,
    /// The largest tensor (the token embedding), which one GPU buffer must hold.
    pub largest_tensor: u64,
}

impl MemoryEstimate {
    /// The estimate for a config, with the weights file's size when it is known.
    pub fn new(config: &Gpt2Config, weights_file: Option<u64>) -> Self {
        let parameters = config.n_params();
        let parameter_bytes = 4 * parameters;
        let ffn = (config.n_embd * config.n_inner) as u64;
        let embedding = (config.vocab_size * config.n_embd) as u64;
        Self {
            parameters,
            weights_file: weights_file.unwrap_or(parameter_bytes),
            parameter_bytes,
            largest_tensor: 4 * embedding.max(ffn),
        }
    }

    /// Peak bytes in the page's own (wasm) memory while loading on `target`.
    pub fn host_peak(&self, target: &Target) -> u64 {
        match target {
            Target::Cpu => self.parameter_bytes + WORKING_MARGIN,
            Target::Gpu { .. } => STREAM_BLOCK + WORKING_MARGIN,
        }
    }

    /// Whether the model fits `target` with `host_memory` bytes of wasm memory.
    pub fn check(&self, target: &Target, host_memory: u64) -> Result<(), TooLarge> {
        let host_peak = self.host_peak(target);
        if host_peak > host_memory {
            return Err(TooLarge::Host {
                needed: host_peak,
                available: host_memory,
            });
        }
        if let Target::Gpu {
            max_binding: Some(max),
        } = target
            && self.largest_tensor > *max
        {
            return Err(TooLarge::Binding {
                tensor: self.largest_tensor,
                max_binding: *max,
            });
        }
        Ok(())
    }
}

impl fmt::Display for MemoryEstimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.0}M parameters: {} of weights to download, {} as f32 on the device",
            self.parameters as f64 / 1e6,
            bytes(self.weights_file),
            bytes(self.parameter_bytes)
        )
    }
}

/// Where the parameters will live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Cpu,
    /// WebGPU, with the adapter's largest storage binding when known.
    Gpu {
        max_binding: Option<u64>,
    },
}

/// Why a model cannot be loaded here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TooLarge {
    #[error(
        "loading needs about {} of page memory, but a browser tab has at most {}: choose a smaller model, or run this one with the `patchbay` command-line tool",
        bytes(*needed),
        bytes(*available)
    )]
    Host { needed: u64, available: u64 },
    #[error(
        "its largest tensor is {}, but this GPU binds at most {} per buffer",
        bytes(*tensor),
        bytes(*max_binding)
    )]
    Binding { tensor: u64, max_binding: u64 },
}

/// The device memory assumed where the browser does not report it (`navigator.deviceMemory`).
pub const ASSUMED_DEVICE_MEMORY: u64 = 4 << 30;

/// What a worker pool holds: each member its own copy of the model, against the tab's budget —
/// half of the device's memory as the browser reports it (Chromium rounds it down and reports
/// at most 8 GiB), of [`ASSUMED_DEVICE_MEMORY`] where it does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolMemory {
    /// One worker with the model loaded: its WebAssembly memory, and on a GPU the parameters.
    pub per_worker: u64,
    pub budget: u64,
}

impl PoolMemory {
    pub fn new(per_worker: u64, device_memory: Option<u64>) -> Self {
        Self {
            per_worker,
            budget: device_memory.unwrap_or(ASSUMED_DEVICE_MEMORY) / 2,
        }
    }

    /// The most workers that fit; at least the one that holds the model already.
    pub fn most_workers(&self) -> usize {
        (self.budget / self.per_worker.max(1)).max(1) as usize
    }

    /// Whether `workers` copies of the model fit the budget.
    pub fn check(&self, workers: usize) -> Result<(), PoolTooLarge> {
        let needed = self.per_worker.saturating_mul(workers as u64);
        if workers > 1 && needed > self.budget {
            return Err(PoolTooLarge {
                workers,
                needed,
                per_worker: self.per_worker,
                budget: self.budget,
                most: self.most_workers(),
            });
        }
        Ok(())
    }
}

/// Why a sweep cannot be shared among that many workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "{workers} workers would hold {} ({} each: every worker holds its own copy of the model), over this tab's budget of {} (half the memory the browser reports); at most {most} fit",
    bytes(*needed),
    bytes(*per_worker),
    bytes(*budget)
)]
pub struct PoolTooLarge {
    pub workers: usize,
    pub needed: u64,
    pub per_worker: u64,
    pub budget: u64,
    pub most: usize,
}

/// `1.5 GB`, `498.4 MB`.
pub fn bytes(n: u64) -> String {
    if n >= 1_000_000_000 {
        format!("{:.1} GB", n as f64 / 1e9)
    } else {
        format!("{:.1} MB", n as f64 / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(n_layer: usize, n_embd: usize) -> Gpt2Config {
        Gpt2Config {
            n_layer,
            n_head: n_embd / 64,
            n_embd,
            n_inner: 4 * n_embd,
            ..Gpt2Config::gpt2_small()
        }
    }

    const SMALL_FILE: u64 = 548_105_171;
    const XL_FILE: u64 = 6_431_829_964;

    #[test]
    fn gpt2_small_has_its_published_size_and_fits_everywhere() {
        let small = MemoryEstimate::new(&config(12, 768), Some(SMALL_FILE));
        assert_eq!(small.parameters, 124_439_808);
        assert_eq!(small.largest_tensor, 4 * 50257 * 768);
        assert!(small.check(&Target::Cpu, WASM32_MEMORY).is_ok());
        let default_binding = 128 << 20;
        // The fp32 token embedding (154 MB) is over WebGPU's default binding: the adapter's
        // own limit must be requested.
        assert!(matches!(
            small.check(
                &Target::Gpu {
                    max_binding: Some(default_binding)
                },
                WASM32_MEMORY
            ),
            Err(TooLarge::Binding { .. })
        ));
        assert!(
            small
                .check(
                    &Target::Gpu {
                        max_binding: Some(1 << 30)
                    },
                    WASM32_MEMORY
                )
                .is_ok()
        );
    }

    #[test]
    fn a_worker_pool_is_refused_past_half_the_devices_memory() {
        // GPT-2 small on the CPU: its 498 MB of f32 weights and the working margin per worker.
        let small = MemoryEstimate::new(&config(12, 768), Some(SMALL_FILE));
        let per_worker = small.host_peak(&Target::Cpu);
        let pool = PoolMemory::new(per_worker, Some(8 << 30));
        assert_eq!(pool.most_workers(), 4);
        assert!(pool.check(4).is_ok());
        let message = pool.check(5).unwrap_err().to_string();
        assert!(message.contains("5 workers"), "{message}");
        assert!(message.contains("at most 4 fit"), "{message}");
        // Unreported memory counts as 4 GiB; one worker always fits (it holds the model already).
        let unknown = PoolMemory::new(per_worker, None);
        assert_eq!(unknown.budget, 2 << 30);
        assert!(unknown.check(3).is_err());
        assert!(PoolMemory::new(u64::MAX, Some(1 << 20)).check(1).is_ok());
        assert_eq!(PoolMemory::new(u64::MAX, Some(1 << 20)).most_workers(), 1);
    }

    #[test]
    fn gpt2_xl_is_refused_on_the_cpu_with_the_reason() {
        let xl = MemoryEstimate::new(&config(48, 1600), Some(XL_FILE));
        assert_eq!(xl.parameters, 1_557_611_200);
        let err = xl.check(&Target::Cpu, WASM32_MEMORY).unwrap_err();
        assert!(matches!(err, TooLarge::Host { .. }));
        let message = err.to_string();
        assert!(message.contains("6.6 GB"), "{message}");
        assert!(message.contains("command-line"), "{message}");
        // On a GPU the weights stream through one block at a time: only the binding limits.
        let gpu = Target::Gpu {
            max_binding: Some(1 << 30),
        };
        assert!(xl.check(&gpu, WASM32_MEMORY).is_ok());
        assert_eq!(xl.host_peak(&gpu), STREAM_BLOCK + WORKING_MARGIN);
    }

    #[test]
    fn gpt2_medium_and_large_fit_on_cpu_and_gpu_without_the_file_held_whole() {
        let medium = MemoryEstimate::new(&config(24, 1024), None);
        assert!(medium.check(&Target::Cpu, WASM32_MEMORY).is_ok());
        // Streaming: the f32 parameters, not the file as well.
        assert_eq!(
            medium.host_peak(&Target::Cpu),
            medium.parameter_bytes + WORKING_MARGIN
        );
        let large = MemoryEstimate::new(&config(36, 1280), Some(1_548_000_000));
        assert!(large.check(&Target::Cpu, WASM32_MEMORY).is_ok());
        assert!(
            large
                .check(&Target::Gpu { max_binding: None }, WASM32_MEMORY)
                .is_ok()
        );
    }
}

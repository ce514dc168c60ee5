// A small emulation of the CUDA execution model, so that the project's device code
// (mixdet/ops/csrc/cuda/mixconv_kernels.cuh) runs unchanged on the CPU under g++.
//
// A CTA's threads run as fibers on one OS thread; a fiber runs until it reaches __syncthreads
// (a CTA-wide barrier) or __shfl_down_sync (a warp-wide exchange), so the order in which threads
// run between those points is set by a configurable schedule. Each CTA gets its own dynamic shared
// memory, 16-byte aligned as on a GPU, filled with NaN bytes (0xFF) and followed by an inaccessible
// page right after the requested size rounded up to 16 bytes, so reading unwritten shared memory
// gives NaN and indexing past its end faults. Violations of the model
// (barrier divergence, deadlock, partial shuffle masks, launch limits) throw mixdet_emu::Error.
// Supported: 1-D CTAs, dynamic shared memory, full-warp __shfl_down_sync of <= 8-byte values.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#define MIXDET_CUDA_EMULATION 1

namespace mixdet_emu {

struct Dim3 {
  unsigned x = 1, y = 1, z = 1;
};

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class Schedule { forward, reverse, shuffled };

struct Options {
  Schedule schedule = Schedule::forward;
  uint64_t seed = 0;                 // for Schedule::shuffled
  std::vector<int64_t> blocks;       // CTAs to run (linear block index); empty: all of them
};

// Runs `thread_body` as every thread of every CTA of a grid_x x grid_y grid (or of options.blocks,
// linear indices bx + grid_x * by), after checking the launch against CUDA's limits.
void launch(int64_t grid_x, int64_t grid_y, int64_t threads, int64_t smem_bytes,
            const std::function<void()>& thread_body, const Options& options);

// The built-ins, valid while a thread of an emulated CTA runs.
const Dim3& thread_idx();
const Dim3& block_idx();
const Dim3& block_dim();
const Dim3& grid_dim();
unsigned char* dynamic_smem();
void syncthreads();
void shfl_down(unsigned mask, const void* value, size_t size, unsigned delta, int width, void* out);

}  // namespace mixdet_emu

#define threadIdx (::mixdet_emu::thread_idx())
#define blockIdx (::mixdet_emu::block_idx())
#define blockDim (::mixdet_emu::block_dim())
#define gridDim (::mixdet_emu::grid_dim())
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __syncthreads() ::mixdet_emu::syncthreads()
#define MIXDET_DYNAMIC_SMEM(name) unsigned char* const name = ::mixdet_emu::dynamic_smem()

template <typename T>
T __shfl_down_sync(unsigned mask, T value, unsigned delta, int width = 32) {
  static_assert(std::is_trivially_copyable<T>::value && sizeof(T) <= 8, "shuffle of a <= 8-byte value");
  T out;
  ::mixdet_emu::shfl_down(mask, &value, sizeof(T), delta, width, &out);
  return out;
}

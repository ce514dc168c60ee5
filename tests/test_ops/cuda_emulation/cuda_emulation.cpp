// Fibers, barrier, warp shuffle and guarded shared memory of the CUDA emulation (cuda_emulation.h).
#include "cuda_emulation.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <numeric>
#include <random>

#if defined(__x86_64__) && !defined(MIXDET_EMU_UCONTEXT)
#define MIXDET_EMU_ASM_SWITCH 1
#else
#include <ucontext.h>
#endif

namespace mixdet_emu {
namespace {

constexpr size_t kStackBytes = 128 * 1024;
constexpr unsigned kWarp = 32;

#ifdef MIXDET_EMU_ASM_SWITCH
// switch_stack(&save, load): saves the callee-saved registers, MXCSR and the x87 control word on the
// current stack, stores the stack pointer in *save, then restores all of them from stack `load`.
extern "C" void mixdet_emu_switch_stack(void** save, void* load);
asm(R"(
  .text
  .p2align 4
  .local mixdet_emu_switch_stack
  .type mixdet_emu_switch_stack, @function
mixdet_emu_switch_stack:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $16, %rsp
  stmxcsr 8(%rsp)
  fnstcw (%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr 8(%rsp)
  fldcw (%rsp)
  addq $16, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size mixdet_emu_switch_stack, .-mixdet_emu_switch_stack
)");

struct Context {
  void* sp = nullptr;
};

void switch_context(Context& from, Context& to) { mixdet_emu_switch_stack(&from.sp, to.sp); }

// A stack whose first switch "returns" into entry() with the ABI's alignment (rsp = 8 mod 16).
void make_context(Context& ctx, unsigned char* stack, size_t size, void (*entry)()) {
  auto top = reinterpret_cast<uintptr_t>(stack + size) & ~uintptr_t(15);
  auto* slot = reinterpret_cast<uint64_t*>(top);
  *--slot = 0;                                          // entry's return address: never used
  *--slot = reinterpret_cast<uint64_t>(entry);          // popped by `ret`
  for (int i = 0; i < 6; ++i) *--slot = 0;              // rbp rbx r12 r13 r14 r15
  slot -= 2;
  uint32_t mxcsr;
  uint16_t fpcw;
  asm volatile("stmxcsr %0" : "=m"(mxcsr));
  asm volatile("fnstcw %0" : "=m"(fpcw));
  std::memcpy(reinterpret_cast<unsigned char*>(slot) + 8, &mxcsr, 4);
  std::memcpy(slot, &fpcw, 2);
  ctx.sp = slot;
}
#else
struct Context {
  ucontext_t uc;
};

void switch_context(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }

void make_context(Context& ctx, unsigned char* stack, size_t size, void (*entry)()) {
  getcontext(&ctx.uc);
  ctx.uc.uc_stack.ss_sp = stack;
  ctx.uc.uc_stack.ss_size = size;
  ctx.uc.uc_link = nullptr;
  makecontext(&ctx.uc, entry, 0);
}
#endif

enum class State { ready, at_barrier, at_shuffle, done };

struct Fiber {
  Context ctx;
  Dim3 idx;
  State state = State::ready;
  uint64_t shuffles = 0;  // __shfl_down_sync calls so far: the parity picks the exchange slot
};

// One warp's exchange: two slots (by call parity) of 32 lanes x 8 bytes.
struct Warp {
  unsigned char slot[2][kWarp][8];
  uint32_t arrived[2] = {0, 0};
  uint32_t mask[2] = {0, 0};
  int width[2] = {0, 0};
};

// Memory with an inaccessible page right after `bytes` usable bytes (and one before, for stacks).
struct Guarded {
  unsigned char* base = nullptr;
  size_t total = 0;
  unsigned char* begin = nullptr;  // usable bytes [begin, begin + bytes)

  Guarded(size_t bytes, bool guard_below) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t body = (bytes + page - 1) / page * page;
    total = body + page + (guard_below ? page : 0);
    void* p = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw Error("emulation: mmap of " + std::to_string(total) + " bytes failed");
    base = static_cast<unsigned char*>(p);
    unsigned char* end = base + total - page;
    mprotect(end, page, PROT_NONE);
    if (guard_below) mprotect(base, page, PROT_NONE);
    begin = end - bytes;
  }
  Guarded(const Guarded&) = delete;
  Guarded& operator=(const Guarded&) = delete;
  ~Guarded() { munmap(base, total); }
};

struct Cta {
  Dim3 block, dim, grid;
  unsigned char* smem = nullptr;
  std::vector<Fiber> fibers;
  std::vector<Warp> warps;
  unsigned at_barrier = 0, done = 0;
  const std::function<void()>* body = nullptr;
  std::string error;
  Context scheduler;
};

Cta* g_cta = nullptr;
Fiber* g_fiber = nullptr;

[[noreturn]] void fail(const std::string& what) {
  throw Error("emulation: block " + std::to_string(g_cta->block.x) + "," + std::to_string(g_cta->block.y) +
              " thread " + std::to_string(g_fiber->idx.x) + ": " + what);
}

void yield() { switch_context(g_fiber->ctx, g_cta->scheduler); }

void fiber_entry() {
  try {
    (*g_cta->body)();
    if (g_cta->at_barrier > 0) fail("exited while other threads wait at __syncthreads (divergent barrier)");
  } catch (const std::exception& e) {
    if (g_cta->error.empty()) g_cta->error = e.what();
  }
  g_fiber->state = State::done;
  ++g_cta->done;
  yield();
  std::terminate();  // a finished fiber is never resumed
}

std::string describe_states(const Cta& cta) {
  unsigned counts[4] = {0, 0, 0, 0};
  for (const Fiber& f : cta.fibers) ++counts[static_cast<int>(f.state)];
  return std::to_string(counts[1]) + " threads at __syncthreads, " + std::to_string(counts[2]) +
         " at __shfl_down_sync, " + std::to_string(counts[3]) + " exited";
}

// Runs the CTA's fibers in `order` until every thread has exited.
void run_cta(Cta& cta, const std::vector<unsigned>& order, std::vector<std::unique_ptr<Guarded>>& stacks) {
  for (unsigned t = 0; t < cta.fibers.size(); ++t) {
    Fiber& f = cta.fibers[t];
    f = Fiber{};
    f.idx.x = t;
    make_context(f.ctx, stacks[t]->begin, kStackBytes, fiber_entry);
  }
  while (cta.done < cta.fibers.size()) {
    bool ran = false;
    for (unsigned t : order) {
      Fiber& f = cta.fibers[t];
      if (f.state != State::ready) continue;
      g_fiber = &f;
      switch_context(cta.scheduler, f.ctx);
      ran = true;
      if (!cta.error.empty()) throw Error(cta.error);
    }
    if (!ran) throw Error("emulation: block " + std::to_string(cta.block.x) + " deadlocked: " + describe_states(cta));
  }
}

std::vector<unsigned> schedule_order(unsigned threads, const Options& options) {
  std::vector<unsigned> order(threads);
  std::iota(order.begin(), order.end(), 0u);
  if (options.schedule == Schedule::reverse) std::reverse(order.begin(), order.end());
  if (options.schedule == Schedule::shuffled) std::shuffle(order.begin(), order.end(), std::mt19937_64(options.seed));
  return order;
}

}  // namespace

void launch(int64_t grid_x, int64_t grid_y, int64_t threads, int64_t smem_bytes,
            const std::function<void()>& thread_body, const Options& options) {
  if (threads <= 0 || threads > 1024 || threads % kWarp != 0)
    throw Error("emulation: " + std::to_string(threads) + " threads per CTA (1..1024, a multiple of 32 here)");
  if (grid_x <= 0 || grid_x > 0x7fffffff || grid_y <= 0 || grid_y > 65535)
    throw Error("emulation: grid (" + std::to_string(grid_x) + ", " + std::to_string(grid_y) +
                ") exceeds CUDA's limits");
  if (smem_bytes < 0 || smem_bytes > 48 * 1024)
    throw Error("emulation: " + std::to_string(smem_bytes) +
                " bytes of dynamic shared memory (above 48 KiB needs an opt-in the kernels do not make)");
  Dim3 grid;
  grid.x = static_cast<unsigned>(grid_x);
  grid.y = static_cast<unsigned>(grid_y);
  // CUDA aligns dynamic shared memory to 16 bytes: the guard page follows the size rounded up to 16.
  const int64_t smem_span = (smem_bytes + 15) / 16 * 16;
  Guarded smem(static_cast<size_t>(smem_span), false);
  static std::vector<std::unique_ptr<Guarded>> stacks;  // fiber stacks, kept for later launches
  while (static_cast<int64_t>(stacks.size()) < threads) stacks.push_back(std::make_unique<Guarded>(kStackBytes, true));
  Cta cta;
  cta.dim.x = static_cast<unsigned>(threads);
  cta.grid = grid;
  cta.smem = smem.begin;
  cta.body = &thread_body;
  cta.fibers.resize(threads);
  cta.warps.resize(threads / kWarp);
  const std::vector<unsigned> order = schedule_order(static_cast<unsigned>(threads), options);
  std::vector<int64_t> blocks = options.blocks;
  const int64_t total = static_cast<int64_t>(grid.x) * grid.y * grid.z;
  if (blocks.empty()) {
    blocks.resize(total);
    std::iota(blocks.begin(), blocks.end(), int64_t(0));
  }
  Cta* const outer = g_cta;
  g_cta = &cta;
  try {
    for (int64_t b : blocks) {
      if (b < 0 || b >= total) throw Error("emulation: block " + std::to_string(b) + " is outside the grid");
      cta.block.x = static_cast<unsigned>(b % grid.x);
      cta.block.y = static_cast<unsigned>(b / grid.x % grid.y);
      cta.block.z = static_cast<unsigned>(b / grid.x / grid.y);
      std::memset(cta.smem, 0xFF, smem_span);  // NaN in every floating-point type
      cta.at_barrier = cta.done = 0;
      for (Warp& w : cta.warps) w = Warp{};
      run_cta(cta, order, stacks);
    }
  } catch (...) {
    g_cta = outer;
    throw;
  }
  g_cta = outer;
}

const Dim3& thread_idx() { return g_fiber->idx; }
const Dim3& block_idx() { return g_cta->block; }
const Dim3& block_dim() { return g_cta->dim; }
const Dim3& grid_dim() { return g_cta->grid; }
unsigned char* dynamic_smem() { return g_cta->smem; }

void syncthreads() {
  Cta& cta = *g_cta;
  if (cta.done > 0) fail("__syncthreads after other threads of the CTA exited (divergent barrier)");
  g_fiber->state = State::at_barrier;
  if (++cta.at_barrier == cta.fibers.size()) {
    cta.at_barrier = 0;
    for (Fiber& f : cta.fibers) f.state = State::ready;
  }
  yield();
}

void shfl_down(unsigned mask, const void* value, size_t size, unsigned delta, int width, void* out) {
  Cta& cta = *g_cta;
  Fiber& self = *g_fiber;
  const unsigned lane = self.idx.x % kWarp, warp_id = self.idx.x / kWarp;
  if (mask != 0xffffffffu) fail("__shfl_down_sync with a partial mask is not emulated");
  if (width < 1 || width > 32 || (width & (width - 1)) != 0)
    fail("__shfl_down_sync width " + std::to_string(width) + " is not a power of two <= 32 (undefined)");
  Warp& warp = cta.warps[warp_id];
  const int p = static_cast<int>(self.shuffles & 1);
  if (warp.arrived[p] == 0) {
    warp.mask[p] = mask;
    warp.width[p] = width;
  } else if (warp.mask[p] != mask || warp.width[p] != width) {
    fail("lanes of one warp reached __shfl_down_sync with different masks or widths");
  }
  std::memcpy(warp.slot[p][lane], value, size);
  warp.arrived[p] |= 1u << lane;
  if (warp.arrived[p] == mask) {  // the last lane releases the others
    warp.arrived[p] = 0;
    for (unsigned l = 0; l < kWarp; ++l) {
      Fiber& f = cta.fibers[warp_id * kWarp + l];
      if (f.state == State::at_shuffle) f.state = State::ready;
    }
  } else {
    self.state = State::at_shuffle;
    yield();
  }
  // CUDA: source lane = lane + delta within the lane's width-segment; past its end a lane keeps its value.
  const unsigned in_segment = lane % static_cast<unsigned>(width);
  const unsigned src = in_segment + delta < static_cast<unsigned>(width) ? lane + delta : lane;
  std::memcpy(out, warp.slot[p][src], size);
  ++self.shuffles;
}

}  // namespace mixdet_emu

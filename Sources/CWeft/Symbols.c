// Symbol lookup for fiber backtraces (Sources/Weft/Diagnostics/Backtrace.swift).
//
// dladdr only knows an image's dynamic symbols, and executables export none by default, so
// each image's ELF symbol table (.symtab, else .dynsym) is read from its file once, on first
// use, into a table sorted by address. The file stays mapped read-only for the life of the
// process so that names can point into it. A mutex guards the image list; lookups happen
// only when someone takes a dump, never on the scheduler's paths.
#define _GNU_SOURCE
#include "CWeft.h"
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct { uintptr_t value, size; const char *name; } sym_entry;

typedef struct image {
  struct image *next;
  const struct link_map *map;   // identifies the image (dladdr1's RTLD_DL_LINKMAP)
  sym_entry *syms;
  size_t count;
} image;

static pthread_mutex_t images_lock = PTHREAD_MUTEX_INITIALIZER;
static image *images;

static int by_value(const void *a, const void *b) {
  uintptr_t x = ((const sym_entry *)a)->value, y = ((const sym_entry *)b)->value;
  return x < y ? -1 : x > y;
}

// Reads the function symbols of the ELF file at `path`; leaves `img` empty on any problem.
static void load_symbols(image *img, const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st;
  if (fstat(fd, &st) != 0 || (size_t)st.st_size < sizeof(Elf64_Ehdr)) { close(fd); return; }
  size_t length = (size_t)st.st_size;
  const unsigned char *file = mmap(NULL, length, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (file == MAP_FAILED) return;
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)file;
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64
      || eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff == 0
      || eh->e_shoff > length || (length - eh->e_shoff) / sizeof(Elf64_Shdr) < eh->e_shnum) {
    munmap((void *)file, length);
    return;
  }
  const Elf64_Shdr *sh = (const Elf64_Shdr *)(file + eh->e_shoff);
  const Elf64_Shdr *table = NULL;
  for (int pass = 0; pass < 2 && !table; pass++) {
    for (unsigned i = 0; i < eh->e_shnum; i++) {
      if (sh[i].sh_type == (pass == 0 ? SHT_SYMTAB : SHT_DYNSYM)) { table = &sh[i]; break; }
    }
  }
  if (!table || table->sh_link >= eh->e_shnum || table->sh_offset > length
      || table->sh_size > length - table->sh_offset) { munmap((void *)file, length); return; }
  const Elf64_Shdr *strs = &sh[table->sh_link];
  if (strs->sh_offset > length || strs->sh_size > length - strs->sh_offset) { munmap((void *)file, length); return; }
  const Elf64_Sym *syms = (const Elf64_Sym *)(file + table->sh_offset);
  size_t n = table->sh_size / sizeof(Elf64_Sym);
  sym_entry *out = malloc((n ? n : 1) * sizeof *out);
  if (!out) { munmap((void *)file, length); return; }
  size_t k = 0;
  const char *names = (const char *)(file + strs->sh_offset);
  for (size_t i = 0; i < n; i++) {
    if (ELF64_ST_TYPE(syms[i].st_info) != STT_FUNC || syms[i].st_value == 0 || syms[i].st_shndx == SHN_UNDEF) continue;
    if (syms[i].st_name >= strs->sh_size) continue;
    out[k].value = syms[i].st_value;
    out[k].size = syms[i].st_size;
    out[k].name = names + syms[i].st_name;
    k++;
  }
  qsort(out, k, sizeof *out, by_value);
  img->syms = out;
  img->count = k;  // the mapping stays: the names point into it
}

static image *image_for(const struct link_map *map, const char *path) {
  for (image *i = images; i; i = i->next) if (i->map == map) return i;
  image *img = calloc(1, sizeof *img);
  if (!img) return NULL;
  img->map = map;
  load_symbols(img, path);
  img->next = images;
  images = img;
  return img;
}

bool weft_symbolize(uintptr_t address, weft_symbol *out) {
  memset(out, 0, sizeof *out);
  Dl_info info;
  struct link_map *map = NULL;
  if (!dladdr1((void *)address, &info, (void **)&map, RTLD_DL_LINKMAP) || !map) return false;
  // The main program's link map has an empty name; its file is /proc/self/exe.
  bool main_program = map->l_name == NULL || map->l_name[0] == 0;
  out->image = info.dli_fname && info.dli_fname[0] ? info.dli_fname : (main_program ? "/proc/self/exe" : NULL);
  if (info.dli_sname) { out->name = info.dli_sname; out->start = (uintptr_t)info.dli_saddr; }
  pthread_mutex_lock(&images_lock);
  image *img = image_for(map, main_program ? "/proc/self/exe" : map->l_name);
  if (img && img->count) {
    uintptr_t key = address - (uintptr_t)map->l_addr;
    size_t lo = 0, hi = img->count;  // find the last entry with value <= key
    while (lo < hi) { size_t mid = lo + (hi - lo) / 2; if (img->syms[mid].value <= key) lo = mid + 1; else hi = mid; }
    if (lo > 0) {
      const sym_entry *e = &img->syms[lo - 1];
      uintptr_t start = e->value + (uintptr_t)map->l_addr;
      // Prefer the table's symbol when it is the closer one (a local function dladdr cannot see).
      if ((e->size == 0 || key < e->value + e->size) && (!out->name || start >= out->start)) {
        out->name = e->name;
        out->start = start;
      }
    }
  }
  pthread_mutex_unlock(&images_lock);
  return true;
}

;; A misbehaving WASI policy: `_start` loops forever. The host's deadline must stop it.
(module
  (memory (export "memory") 1)
  (func (export "_start") (loop $forever (br $forever))))

import gc

# No cyclic garbage collection until the window's first frame: see launcher.app.main.
gc.disable()

from launcher.app import main  # noqa: E402

raise SystemExit(main())

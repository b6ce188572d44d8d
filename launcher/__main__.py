from launcher.app import main

raise SystemExit(main())

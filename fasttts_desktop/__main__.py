from fasttts_desktop.cli import main

raise SystemExit(main())

from fasttts_desktop.bench import main

raise SystemExit(main())

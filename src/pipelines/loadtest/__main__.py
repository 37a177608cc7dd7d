from pipelines.loadtest.runner import main

raise SystemExit(main())
